package io.whatssound.realtime.runtime.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/** vsn 1.0.0: text frames holding {@code {"topic","event","payload","ref","join_ref"}}. */
final class JsonObjectCodec implements FrameCodec {
  static final JsonObjectCodec INSTANCE = new JsonObjectCodec();
  private static final byte[] TOPIC = "{\"topic\":".getBytes(StandardCharsets.UTF_8);
  private static final byte[] EVENT_BROADCAST =
      ",\"event\":\"broadcast\",\"payload\":".getBytes(StandardCharsets.UTF_8);
  private static final byte[] REF_NULL = ",\"ref\":null}".getBytes(StandardCharsets.UTF_8);

  private JsonObjectCodec() {}

  @Override
  public Vsn vsn() {
    return Vsn.V1;
  }

  @Override
  public InboundMessage decodeText(ByteBuf content) throws FrameException {
    JsonNode node = FrameCodec.json(content);
    if (!(node instanceof ObjectNode o)) {
      throw new FrameException("bad_envelope", "a 1.0.0 message must be a JSON object");
    }
    String topic = Refs.requiredString(o.get("topic"), "topic");
    String event = Refs.requiredString(o.get("event"), "event");
    JsonNode payload = o.get("payload");
    if (!(payload instanceof ObjectNode p)) {
      throw new FrameException("bad_envelope", "\"payload\" must be a JSON object");
    }
    return new InboundMessage(Refs.ref(o.get("join_ref")), Refs.ref(o.get("ref")), topic, event, p, null);
  }

  @Override
  public InboundMessage decodeBinary(ByteBuf content) throws FrameException {
    throw new FrameException("binary_on_v1", "binary frames need vsn=2.0.0");
  }

  @Override
  public OutFrame encode(
      ByteBufAllocator alloc, String joinRef, String ref, String topic, String event, Json.GeneratorWriter payload) {
    ByteBuf buf =
        Json.write(
            alloc,
            g -> {
              g.writeStartObject();
              g.writeStringField("topic", topic);
              g.writeStringField("event", event);
              g.writeFieldName("payload");
              payload.write(g);
              g.writeFieldName("ref");
              Refs.write(g, ref);
              g.writeFieldName("join_ref");
              Refs.write(g, joinRef);
              g.writeEndObject();
            });
    return new OutFrame(buf, false);
  }

  @Override
  public OutFrame encodeBroadcast(ByteBufAllocator alloc, String topic, UserBroadcast b) {
    if (b.binary()) {
      return null;
    }
    ByteBuf buf = alloc.buffer(b.payload().length + topic.length() + 96);
    buf.writeBytes(TOPIC);
    buf.writeBytes(Json.quoted(topic));
    buf.writeBytes(EVENT_BROADCAST);
    FrameCodec.writeBroadcastBody(buf, b);
    buf.writeBytes(REF_NULL);
    return new OutFrame(buf, false);
  }
}
