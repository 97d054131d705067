package io.whatssound.realtime.runtime.cdc;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

/** Builds pgoutput messages byte by byte, per "Logical Replication Message Formats" (big-endian). */
final class MessageBytes {
  /** A tuple column sent as 'u' (unchanged TOAST). */
  static final Object UNCHANGED = new Object();

  private static final Instant PG_EPOCH = Instant.parse("2000-01-01T00:00:00Z");
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  private MessageBytes() {}

  static MessageBytes of(char type) {
    return new MessageBytes().int8(type);
  }

  MessageBytes int8(int v) {
    out.write(v);
    return this;
  }

  MessageBytes int16(int v) {
    return int8(v >>> 8).int8(v);
  }

  MessageBytes int32(int v) {
    return int16(v >>> 16).int16(v);
  }

  MessageBytes int64(long v) {
    return int32((int) (v >>> 32)).int32((int) v);
  }

  MessageBytes timestamp(Instant t) {
    Duration d = Duration.between(PG_EPOCH, t);
    return int64(d.getSeconds() * 1_000_000L + d.getNano() / 1_000);
  }

  /** A zero-terminated UTF-8 string. */
  MessageBytes string(String s) {
    return bytes(s.getBytes(StandardCharsets.UTF_8)).int8(0);
  }

  MessageBytes bytes(byte[] b) {
    out.write(b, 0, b.length);
    return this;
  }

  /** TupleData: null → 'n', {@link #UNCHANGED} → 'u', a String → 't', a byte[] → 'b'. */
  MessageBytes tuple(Object... values) {
    int16(values.length);
    for (Object v : values) {
      if (v == null) {
        int8('n');
      } else if (v == UNCHANGED) {
        int8('u');
      } else if (v instanceof String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int8('t').int32(b.length).bytes(b);
      } else if (v instanceof byte[] b) {
        int8('b').int32(b.length).bytes(b);
      } else {
        throw new IllegalArgumentException("not a tuple value: " + v);
      }
    }
    return this;
  }

  byte[] array() {
    return out.toByteArray();
  }

  ByteBuffer buffer() {
    return ByteBuffer.wrap(array());
  }
}
