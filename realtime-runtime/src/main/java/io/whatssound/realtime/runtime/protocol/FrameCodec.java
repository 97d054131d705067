package io.whatssound.realtime.runtime.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;

/** Reads client frames and writes server frames for one serializer version. */
public interface FrameCodec {

  Vsn vsn();

  InboundMessage decodeText(ByteBuf content) throws FrameException;

  InboundMessage decodeBinary(ByteBuf content) throws FrameException;

  /** A push or a reply with a payload written by {@code payload}. */
  OutFrame encode(
      ByteBufAllocator alloc, String joinRef, String ref, String topic, String event, Json.GeneratorWriter payload);

  /** A user broadcast on {@code topic}; null when this serializer cannot carry it (binary to 1.0.0). */
  OutFrame encodeBroadcast(ByteBufAllocator alloc, String topic, UserBroadcast broadcast);

  /** Writes {@code {"type":"broadcast","event":..,"payload":<raw>,"meta":..}} with the payload bytes as they are. */
  static void writeBroadcastBody(ByteBuf out, UserBroadcast b) {
    out.writeBytes(BODY_START);
    out.writeBytes(Json.quoted(b.event()));
    out.writeBytes(BODY_PAYLOAD);
    out.writeBytes(b.payload());
    if (b.meta() != null) {
      out.writeBytes(BODY_META);
      out.writeBytes(Json.bytes(b.meta()));
    }
    out.writeByte('}');
  }

  byte[] BODY_START = "{\"type\":\"broadcast\",\"event\":".getBytes(StandardCharsets.UTF_8);
  byte[] BODY_PAYLOAD = ",\"payload\":".getBytes(StandardCharsets.UTF_8);
  byte[] BODY_META = ",\"meta\":".getBytes(StandardCharsets.UTF_8);

  /** A text frame's JSON, the envelope both serializers start from. */
  static JsonNode json(ByteBuf content) throws FrameException {
    byte[] bytes = ByteBufUtil.getBytes(content, content.readerIndex(), content.readableBytes(), false);
    return Json.tree(bytes, 0, bytes.length, "message");
  }
}
