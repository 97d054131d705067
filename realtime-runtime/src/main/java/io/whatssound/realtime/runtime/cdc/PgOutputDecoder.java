package io.whatssound.realtime.runtime.cdc;

import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Begin;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Column;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Commit;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Delete;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Insert;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.LogicalMessage;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Origin;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Relation;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Truncate;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Tuple;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.TupleValue;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Type;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Update;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes one {@code pgoutput} message (PostgreSQL's "Logical Replication Message Formats", protocol
 * version 2 without streaming, with {@code messages 'true'}) from the buffer PgJDBC's replication stream
 * hands out: its position at the message type byte, its limit at the end of the message.
 *
 * <p>Stateless and thread-safe; the caller's buffer is not moved. Strings are read as UTF-8 (the
 * database encoding of a Supabase project). The whole message must be consumed: trailing bytes are an
 * error, as they mean the layout is not the one this decoder knows.
 */
public final class PgOutputDecoder {
  /** 2000-01-01T00:00:00Z in seconds since the Unix epoch: PostgreSQL's timestamp epoch. */
  private static final long PG_EPOCH_SECONDS = 946_684_800L;

  private PgOutputDecoder() {}

  /** Decodes the message between the buffer's position and limit. */
  public static PgOutputMessage decode(ByteBuffer message) throws PgOutputException {
    ByteBuffer b = message.duplicate().order(ByteOrder.BIG_ENDIAN);
    if (!b.hasRemaining()) {
      throw new PgOutputException("empty pgoutput message: expected at least the message type byte");
    }
    char type = (char) (b.get() & 0xFF);
    Reader r = new Reader(b, type);
    PgOutputMessage decoded =
        switch (type) {
          case 'B' -> new Begin(r.int64("final LSN"), r.timestamp("commit time"), r.uint32("xid"));
          case 'C' -> commit(r);
          case 'O' -> new Origin(r.int64("origin commit LSN"), r.string("origin name"));
          case 'R' -> relation(r);
          case 'Y' -> new Type(r.int32("type OID"), r.string("type schema"), r.string("type name"));
          case 'I' -> insert(r);
          case 'U' -> update(r);
          case 'D' -> delete(r);
          case 'T' -> truncate(r);
          case 'M' -> logicalMessage(r);
          default -> throw unsupported(type);
        };
    if (b.hasRemaining()) {
      throw r.error(b.remaining() + " unexpected byte(s) after the end of the message");
    }
    return decoded;
  }

  /** The name a message type has in PostgreSQL's documentation, for error messages. */
  static String typeName(char type) {
    String name =
        switch (type) {
          case 'B' -> "Begin";
          case 'C' -> "Commit";
          case 'O' -> "Origin";
          case 'R' -> "Relation";
          case 'Y' -> "Type";
          case 'I' -> "Insert";
          case 'U' -> "Update";
          case 'D' -> "Delete";
          case 'T' -> "Truncate";
          case 'M' -> "Message";
          default -> null;
        };
    return name == null ? describe(type) : name + " ('" + type + "')";
  }

  private static String describe(char type) {
    String hex = String.format("0x%02X", (int) type);
    return type >= 0x20 && type < 0x7F ? "'" + type + "' (" + hex + ")" : hex;
  }

  private static PgOutputException unsupported(char type) {
    String streaming =
        switch (type) {
          case 'S' -> "Stream Start";
          case 'E' -> "Stream Stop";
          case 'c' -> "Stream Commit";
          case 'A' -> "Stream Abort";
          case 'p' -> "Stream Prepare";
          default -> null;
        };
    if (streaming != null) {
      return new PgOutputException(
          "unsupported pgoutput message " + streaming + " ('" + type + "'): streaming of in-progress "
              + "transactions is not supported; start replication without the 'streaming' option");
    }
    String twoPhase =
        switch (type) {
          case 'b' -> "Begin Prepare";
          case 'P' -> "Prepare";
          case 'K' -> "Commit Prepared";
          case 'r' -> "Rollback Prepared";
          default -> null;
        };
    if (twoPhase != null) {
      return new PgOutputException(
          "unsupported pgoutput message " + twoPhase + " ('" + type + "'): two-phase commit decoding is "
              + "not supported; start replication without the 'two_phase' option");
    }
    return new PgOutputException(
        "unknown pgoutput message type " + describe(type)
            + ": expected one of B, C, O, R, Y, I, U, D, T, M (protocol version 2)");
  }

  private static Commit commit(Reader r) throws PgOutputException {
    r.int8("flags"); // unused, always 0
    return new Commit(r.int64("commit LSN"), r.int64("end LSN"), r.timestamp("commit time"));
  }

  private static Relation relation(Reader r) throws PgOutputException {
    int oid = r.int32("relation OID");
    String schema = r.string("schema name");
    String table = r.string("table name");
    char identity = (char) r.int8("replica identity");
    int count = r.uint16("column count");
    List<Column> columns = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      String at = " of column " + (i + 1) + " of " + count;
      int flags = r.int8("flags" + at);
      String name = r.string("name" + at);
      int typeOid = r.int32("type OID" + at);
      int typeModifier = r.int32("type modifier" + at);
      columns.add(new Column(name, typeOid, typeModifier, (flags & 1) != 0));
    }
    return new Relation(oid, schema, table, identity, columns);
  }

  private static Insert insert(Reader r) throws PgOutputException {
    int relation = r.int32("relation OID");
    char marker = (char) r.int8("new tuple marker");
    if (marker != 'N') {
      throw r.error("expected the new tuple marker 'N' but found " + describe(marker));
    }
    return new Insert(relation, r.tuple("new tuple"));
  }

  private static Update update(Reader r) throws PgOutputException {
    int relation = r.int32("relation OID");
    char marker = (char) r.int8("tuple marker");
    Tuple old = null;
    boolean keyOnly = false;
    if (marker == 'K' || marker == 'O') {
      keyOnly = marker == 'K';
      old = r.tuple(keyOnly ? "key tuple" : "old tuple");
      marker = (char) r.int8("new tuple marker");
      if (marker != 'N') {
        throw r.error("expected the new tuple marker 'N' after the "
            + (keyOnly ? "key" : "old") + " tuple but found " + describe(marker));
      }
    } else if (marker != 'N') {
      throw r.error("expected a tuple marker 'K', 'O' or 'N' but found " + describe(marker));
    }
    return new Update(relation, old, keyOnly, r.tuple("new tuple"));
  }

  private static Delete delete(Reader r) throws PgOutputException {
    int relation = r.int32("relation OID");
    char marker = (char) r.int8("tuple marker");
    if (marker != 'K' && marker != 'O') {
      throw r.error("expected a tuple marker 'K' or 'O' but found " + describe(marker));
    }
    boolean keyOnly = marker == 'K';
    return new Delete(relation, r.tuple(keyOnly ? "key tuple" : "old tuple"), keyOnly);
  }

  private static Truncate truncate(Reader r) throws PgOutputException {
    int count = r.int32("relation count");
    if (count < 0) {
      throw r.error("negative relation count " + count);
    }
    int options = r.int8("options");
    r.need(4L * count, count + " relation OIDs");
    List<Integer> relations = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      relations.add(r.int32("relation OID " + (i + 1) + " of " + count));
    }
    return new Truncate(relations, (options & 1) != 0, (options & 2) != 0);
  }

  private static LogicalMessage logicalMessage(Reader r) throws PgOutputException {
    int flags = r.int8("flags");
    long lsn = r.int64("message LSN");
    String prefix = r.string("prefix");
    int length = r.int32("content length");
    if (length < 0) {
      throw r.error("negative content length " + length);
    }
    return new LogicalMessage((flags & 1) != 0, lsn, prefix, r.bytes(length, "content"));
  }

  /** Reads fields of one message, naming the message and the field in every error. */
  private static final class Reader {
    private final ByteBuffer b;
    private final char type;

    Reader(ByteBuffer b, char type) {
      this.b = b;
      this.type = type;
    }

    PgOutputException error(String what) {
      return new PgOutputException("invalid pgoutput " + typeName(type) + " message: " + what);
    }

    void need(long n, String field) throws PgOutputException {
      if (b.remaining() < n) {
        throw new PgOutputException(
            "truncated pgoutput " + typeName(type) + " message: " + field + " needs " + n + " byte(s) at offset "
                + b.position() + " but only " + b.remaining() + " remain");
      }
    }

    int int8(String field) throws PgOutputException {
      need(1, field);
      return b.get() & 0xFF;
    }

    int uint16(String field) throws PgOutputException {
      need(2, field);
      return b.getShort() & 0xFFFF;
    }

    int int32(String field) throws PgOutputException {
      need(4, field);
      return b.getInt();
    }

    long uint32(String field) throws PgOutputException {
      return Integer.toUnsignedLong(int32(field));
    }

    long int64(String field) throws PgOutputException {
      need(8, field);
      return b.getLong();
    }

    Instant timestamp(String field) throws PgOutputException {
      long micros = int64(field);
      return Instant.ofEpochSecond(
          PG_EPOCH_SECONDS + Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
    }

    String string(String field) throws PgOutputException {
      int start = b.position();
      int end = start;
      while (end < b.limit() && b.get(end) != 0) {
        end++;
      }
      if (end == b.limit()) {
        throw new PgOutputException(
            "truncated pgoutput " + typeName(type) + " message: " + field + " at offset " + start
                + " has no terminating zero byte");
      }
      byte[] bytes = new byte[end - start];
      b.get(bytes);
      b.get(); // the terminator
      return new String(bytes, StandardCharsets.UTF_8);
    }

    byte[] bytes(int length, String field) throws PgOutputException {
      need(length, field);
      byte[] bytes = new byte[length];
      b.get(bytes);
      return bytes;
    }

    Tuple tuple(String name) throws PgOutputException {
      int count = uint16("column count of the " + name);
      List<TupleValue> values = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        String at = " of column " + (i + 1) + " of " + count + " in the " + name;
        char kind = (char) int8("kind" + at);
        switch (kind) {
          case 'n' -> values.add(TupleValue.NULL);
          case 'u' -> values.add(TupleValue.UNCHANGED_TOAST);
          case 't', 'b' -> {
            int length = int32("length" + at);
            if (length < 0) {
              throw error("negative length " + length + at);
            }
            byte[] data = bytes(length, "value" + at);
            values.add(kind == 't'
                ? TupleValue.text(new String(data, StandardCharsets.UTF_8))
                : TupleValue.binary(data));
          }
          default -> throw error(
              "unknown value kind " + describe(kind) + at + " (expected 'n', 'u', 't' or 'b')");
        }
      }
      return new Tuple(values);
    }
  }
}
