package io.whatssound.realtime.runtime.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * vsn 2.0.0: text frames holding {@code [join_ref, ref, topic, event, payload]}, binary user
 * broadcasts from clients (kind 3) and binary user broadcasts to clients (kind 4).
 */
final class JsonArrayCodec implements FrameCodec {
  static final JsonArrayCodec INSTANCE = new JsonArrayCodec();
  static final int KIND_USER_BROADCAST_PUSH = 3;
  static final int KIND_USER_BROADCAST = 4;
  static final int ENCODING_BINARY = 0;
  static final int ENCODING_JSON = 1;
  private static final int PUSH_HEADER = 7;
  private static final byte[] PREFIX = "[null,null,".getBytes(StandardCharsets.UTF_8);
  private static final byte[] EVENT_BROADCAST = ",\"broadcast\",".getBytes(StandardCharsets.UTF_8);

  private JsonArrayCodec() {}

  @Override
  public Vsn vsn() {
    return Vsn.V2;
  }

  @Override
  public InboundMessage decodeText(ByteBuf content) throws FrameException {
    JsonNode node = FrameCodec.json(content);
    if (!(node instanceof ArrayNode a) || a.size() != 5) {
      throw new FrameException("bad_envelope", "a 2.0.0 message must be [join_ref, ref, topic, event, payload]");
    }
    String topic = Refs.requiredString(a.get(2), "topic");
    String event = Refs.requiredString(a.get(3), "event");
    if (!(a.get(4) instanceof ObjectNode payload)) {
      throw new FrameException("bad_envelope", "the payload must be a JSON object");
    }
    return new InboundMessage(Refs.ref(a.get(0)), Refs.ref(a.get(1)), topic, event, payload, null);
  }

  @Override
  public InboundMessage decodeBinary(ByteBuf in) throws FrameException {
    int readable = in.readableBytes();
    if (readable < 1) {
      throw new FrameException("bad_binary", "empty binary frame");
    }
    int base = in.readerIndex();
    int kind = in.getUnsignedByte(base);
    if (kind != KIND_USER_BROADCAST_PUSH) {
      throw new FrameException("unknown_kind", "binary frame kind " + kind + " is not accepted from clients");
    }
    if (readable < PUSH_HEADER) {
      throw new FrameException("bad_binary", "binary frame shorter than its header");
    }
    int joinRefLen = in.getUnsignedByte(base + 1);
    int refLen = in.getUnsignedByte(base + 2);
    int topicLen = in.getUnsignedByte(base + 3);
    int eventLen = in.getUnsignedByte(base + 4);
    int metaLen = in.getUnsignedByte(base + 5);
    int encoding = in.getUnsignedByte(base + 6);
    if (encoding != ENCODING_BINARY && encoding != ENCODING_JSON) {
      throw new FrameException("bad_binary", "unknown payload encoding " + encoding);
    }
    int fields = joinRefLen + refLen + topicLen + eventLen + metaLen;
    if (readable < PUSH_HEADER + fields) {
      throw new FrameException("bad_binary", "binary frame lengths exceed the frame");
    }
    int at = base + PUSH_HEADER;
    String joinRef = utf8(in, at, joinRefLen, "join_ref");
    at += joinRefLen;
    String ref = utf8(in, at, refLen, "ref");
    at += refLen;
    String topic = utf8(in, at, topicLen, "topic");
    at += topicLen;
    String event = utf8(in, at, eventLen, "event");
    at += eventLen;
    ObjectNode meta = null;
    if (metaLen > 0) {
      byte[] metaBytes = new byte[metaLen];
      in.getBytes(at, metaBytes);
      meta = Json.object(metaBytes, "metadata");
    }
    at += metaLen;
    byte[] payload = new byte[base + readable - at];
    in.getBytes(at, payload);
    boolean binary = encoding == ENCODING_BINARY;
    if (!binary) {
      Json.validate(payload, "broadcast payload");
    }
    if (topic.isEmpty() || event.isEmpty()) {
      throw new FrameException("bad_binary", "binary broadcast needs a topic and an event");
    }
    // metadata keys (e.g. persist) are requests to the server, not data for other clients
    UserBroadcast b = new UserBroadcast(event, payload, binary, null);
    return new InboundMessage(
        joinRef.isEmpty() ? null : joinRef, ref.isEmpty() ? null : ref, topic, "broadcast", meta, b);
  }

  private static String utf8(ByteBuf in, int at, int len, String field) throws FrameException {
    if (len == 0) {
      return "";
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(in.nioBuffer(at, len))
          .toString();
    } catch (CharacterCodingException e) {
      throw new FrameException("bad_utf8", field + " is not valid UTF-8");
    }
  }

  @Override
  public OutFrame encode(
      ByteBufAllocator alloc, String joinRef, String ref, String topic, String event, Json.GeneratorWriter payload) {
    ByteBuf buf =
        Json.write(
            alloc,
            g -> {
              g.writeStartArray();
              Refs.write(g, joinRef);
              Refs.write(g, ref);
              g.writeString(topic);
              g.writeString(event);
              payload.write(g);
              g.writeEndArray();
            });
    return new OutFrame(buf, false);
  }

  @Override
  public OutFrame encodeBroadcast(ByteBufAllocator alloc, String topic, UserBroadcast b) {
    if (b.binary()) {
      return binaryBroadcast(alloc, topic, b);
    }
    ByteBuf buf = alloc.buffer(b.payload().length + topic.length() + 80);
    buf.writeBytes(PREFIX);
    buf.writeBytes(Json.quoted(topic));
    buf.writeBytes(EVENT_BROADCAST);
    FrameCodec.writeBroadcastBody(buf, b);
    buf.writeByte(']');
    return new OutFrame(buf, false);
  }

  private static OutFrame binaryBroadcast(ByteBufAllocator alloc, String topic, UserBroadcast b) {
    byte[] t = topic.getBytes(StandardCharsets.UTF_8);
    byte[] e = b.event().getBytes(StandardCharsets.UTF_8);
    byte[] m = b.meta() == null ? new byte[0] : Json.bytes(b.meta());
    if (t.length > 255 || e.length > 255 || m.length > 255) {
      return null;
    }
    ByteBuf buf = alloc.buffer(5 + t.length + e.length + m.length + b.payload().length);
    buf.writeByte(KIND_USER_BROADCAST);
    buf.writeByte(t.length);
    buf.writeByte(e.length);
    buf.writeByte(m.length);
    buf.writeByte(ENCODING_BINARY);
    buf.writeBytes(t);
    buf.writeBytes(e);
    buf.writeBytes(m);
    buf.writeBytes(b.payload());
    return new OutFrame(buf, true);
  }

}
