package io.whatssound.realtime.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The client side of the Phoenix/Supabase wire format for one serializer version: envelopes for
 * vsn 1.0.0 (JSON objects) and 2.0.0 (JSON arrays, binary kind 3 pushes), and a fast reader for the
 * benchmark's own broadcast payloads ({@code {"s":seq,"t":nanos,...}} or 16 binary bytes) that
 * avoids a JSON parse per delivery. Topics, events and refs the bench uses are plain ASCII, so
 * strings are quoted without escaping.
 */
final class Wire {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] PAYLOAD_MARK = "{\"s\":".getBytes(StandardCharsets.US_ASCII);
  static final int KIND_PUSH = 3;
  static final int KIND_BROADCAST = 4;

  final boolean v2;

  Wire(String vsn) {
    if (!vsn.equals("1.0.0") && !vsn.equals("2.0.0")) {
      throw new IllegalArgumentException("--vsn must be 1.0.0 or 2.0.0, got " + vsn);
    }
    this.v2 = vsn.equals("2.0.0");
  }

  String vsn() {
    return v2 ? "2.0.0" : "1.0.0";
  }

  private static String q(String s) {
    return s == null ? "null" : "\"" + s + "\"";
  }

  /** A text envelope with a raw JSON payload. */
  String envelope(String joinRef, String ref, String topic, String event, String payloadJson) {
    if (v2) {
      return "[" + q(joinRef) + "," + q(ref) + "," + q(topic) + "," + q(event) + "," + payloadJson + "]";
    }
    return "{\"topic\":" + q(topic) + ",\"event\":" + q(event) + ",\"payload\":" + payloadJson
        + ",\"ref\":" + q(ref) + ",\"join_ref\":" + q(joinRef) + "}";
  }

  static String joinPayload(boolean self, boolean presence, String presenceKey) {
    return "{\"config\":{\"broadcast\":{\"ack\":false,\"self\":" + self + "},\"presence\":{\"key\":"
        + q(presenceKey == null ? "" : presenceKey) + ",\"enabled\":" + presence
        + "},\"postgres_changes\":[],\"private\":false}}";
  }

  /** A join with {@code postgres_changes} bindings ({@code bindingsJson} is the JSON array). */
  static String joinPayloadChanges(String bindingsJson) {
    return "{\"config\":{\"broadcast\":{\"ack\":false,\"self\":false},\"presence\":{\"key\":\"\",\"enabled\":false},"
        + "\"postgres_changes\":" + bindingsJson + ",\"private\":false}}";
  }

  /** The benchmark payload as JSON text: sequence, send time, padding up to about {@code size} bytes. */
  static String jsonPayload(long seq, long nanos, String pad) {
    return "{\"s\":" + seq + ",\"t\":" + nanos + ",\"p\":\"" + pad + "\"}";
  }

  static String pad(int size) {
    return "x".repeat(Math.max(0, size - 40));
  }

  /** A broadcast push: text for 1.0.0 or 2.0.0, binary kind 3 when {@code binary} (2.0.0 only). */
  WebSocketFrame broadcast(
      ByteBufAllocator alloc, String joinRef, String ref, String topic, String event, long seq, long nanos,
      int size, String pad, boolean binary) {
    if (binary) {
      byte[] jr = bytes(joinRef);
      byte[] r = bytes(ref);
      byte[] t = bytes(topic);
      byte[] e = bytes(event);
      int payload = Math.max(16, size);
      ByteBuf buf = alloc.buffer(7 + jr.length + r.length + t.length + e.length + payload);
      buf.writeByte(KIND_PUSH).writeByte(jr.length).writeByte(r.length).writeByte(t.length).writeByte(e.length)
          .writeByte(0).writeByte(0);
      buf.writeBytes(jr).writeBytes(r).writeBytes(t).writeBytes(e);
      buf.writeLong(seq).writeLong(nanos);
      buf.writeZero(payload - 16);
      return new BinaryWebSocketFrame(buf);
    }
    String body = "{\"type\":\"broadcast\",\"event\":" + q(event) + ",\"payload\":" + jsonPayload(seq, nanos, pad) + "}";
    return text(alloc, envelope(joinRef, ref, topic, "broadcast", body));
  }

  static TextWebSocketFrame text(ByteBufAllocator alloc, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    return new TextWebSocketFrame(alloc.buffer(b.length).writeBytes(b));
  }

  private static byte[] bytes(String s) {
    return s == null ? new byte[0] : s.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Reads a bench broadcast out of a frame without parsing JSON: {@code out[0]} = sequence,
   * {@code out[1]} = send time. False when the frame is something else.
   */
  static boolean readBench(WebSocketFrame frame, long[] out) {
    ByteBuf c = frame.content();
    int base = c.readerIndex();
    int len = c.readableBytes();
    if (frame instanceof BinaryWebSocketFrame) {
      if (len < 5 || c.getUnsignedByte(base) != KIND_BROADCAST) {
        return false;
      }
      int at = base + 5 + c.getUnsignedByte(base + 1) + c.getUnsignedByte(base + 2) + c.getUnsignedByte(base + 3);
      if (at + 16 > base + len) {
        return false;
      }
      out[0] = c.getLong(at);
      out[1] = c.getLong(at + 8);
      return true;
    }
    if (!(frame instanceof TextWebSocketFrame)) {
      return false;
    }
    int limit = Math.min(base + len, base + 400);
    int at = indexOf(c, base, limit, PAYLOAD_MARK);
    if (at < 0) {
      return false;
    }
    at += PAYLOAD_MARK.length;
    long seq = 0;
    int end = base + len;
    while (at < end) {
      byte b = c.getByte(at);
      if (b < '0' || b > '9') {
        break;
      }
      seq = seq * 10 + (b - '0');
      at++;
    }
    // expect ,"t":
    at += 5;
    long t = 0;
    boolean neg = at < end && c.getByte(at) == '-';
    if (neg) {
      at++;
    }
    while (at < end) {
      byte b = c.getByte(at);
      if (b < '0' || b > '9') {
        break;
      }
      t = t * 10 + (b - '0');
      at++;
    }
    out[0] = seq;
    out[1] = neg ? -t : t;
    return true;
  }

  private static final byte[] RECORD_MARK = "\"record\":{".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] ID_MARK = "\"id\":".getBytes(StandardCharsets.US_ASCII);

  /**
   * Reads a Postgres Changes push without parsing JSON: {@code out[0]} = the record's {@code id},
   * {@code out[1]} = the record's numeric column {@code longColumn} ({@code "name":} as bytes).
   * Relies on the runtime writing the record's columns in table order, as pgoutput sends them.
   * False when the frame is something else (replies, {@code system} messages).
   */
  static boolean readChange(WebSocketFrame frame, byte[] longColumn, long[] out) {
    if (!(frame instanceof TextWebSocketFrame)) {
      return false;
    }
    ByteBuf c = frame.content();
    int base = c.readerIndex();
    int end = base + c.readableBytes();
    int rec = indexOf(c, base, end, RECORD_MARK);
    if (rec < 0) {
      return false;
    }
    int id = indexOf(c, rec, end, ID_MARK);
    int col = indexOf(c, rec, end, longColumn);
    if (id < 0 || col < 0) {
      return false;
    }
    out[0] = parseLong(c, id + ID_MARK.length, end);
    out[1] = parseLong(c, col + longColumn.length, end);
    return true;
  }

  private static long parseLong(ByteBuf c, int at, int end) {
    boolean neg = at < end && c.getByte(at) == '-';
    if (neg) {
      at++;
    }
    long v = 0;
    while (at < end) {
      byte b = c.getByte(at);
      if (b < '0' || b > '9') {
        break;
      }
      v = v * 10 + (b - '0');
      at++;
    }
    return neg ? -v : v;
  }

  private static int indexOf(ByteBuf c, int from, int limit, byte[] pat) {
    outer:
    for (int i = from; i + pat.length <= limit; i++) {
      for (int j = 0; j < pat.length; j++) {
        if (c.getByte(i + j) != pat[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /** A decoded server message (slow path: replies, presence, system). */
  record Msg(String joinRef, String ref, String topic, String event, JsonNode payload) {}

  Msg parse(ByteBuf content) throws IOException {
    byte[] b = new byte[content.readableBytes()];
    content.getBytes(content.readerIndex(), b);
    JsonNode n = JSON.readTree(b);
    if (n instanceof ArrayNode a && a.size() == 5) {
      return new Msg(text(a.get(0)), text(a.get(1)), text(a.get(2)), text(a.get(3)), a.get(4));
    }
    if (n instanceof ObjectNode o) {
      return new Msg(text(o.get("join_ref")), text(o.get("ref")), text(o.get("topic")), text(o.get("event")),
          o.get("payload"));
    }
    throw new IOException("unexpected message shape: " + n);
  }

  private static String text(JsonNode n) {
    return n == null || n.isNull() ? null : n.asText();
  }
}
