package io.whatssound.realtime.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer;
import io.whatssound.realtime.runtime.protocol.FrameException;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** The REST broadcast API: validates a whole request, then publishes every message or none. */
final class RestBroadcast {
  private final RuntimeContext rt;

  RestBroadcast(RuntimeContext rt) {
    this.rt = rt;
  }

  /** What a request produced: an HTTP status and a message for the body (null for an empty 202). */
  record Outcome(int status, String message) {
    static final Outcome ACCEPTED = new Outcome(202, null);
  }

  /** One message to publish. */
  record Message(TopicKey key, UserBroadcast broadcast) {}

  /** Parses {@code {"messages":[{topic,event,payload,private?,id?}]}}. */
  List<Message> parseBatch(byte[] body) throws FrameException {
    ObjectNode root = Json.object(body, "request body");
    if (!(root.get("messages") instanceof ArrayNode arr) || arr.isEmpty()) {
      throw new FrameException("bad_body", "\"messages\" must be a non-empty array");
    }
    List<Message> out = new ArrayList<>(arr.size());
    for (JsonNode n : arr) {
      if (!(n instanceof ObjectNode o)) {
        throw new FrameException("bad_body", "each message must be an object");
      }
      String topic = o.path("topic").asText("");
      String event = o.path("event").asText("");
      if (topic.isEmpty() || event.isEmpty()) {
        throw new FrameException("bad_body", "each message needs a non-empty \"topic\" and \"event\"");
      }
      JsonNode payload = o.path("payload");
      byte[] bytes = Json.bytes(payload.isMissingNode() || payload.isNull() ? Json.MAPPER.createObjectNode() : payload);
      ObjectNode meta = null;
      if (o.path("id").isTextual()) {
        meta = Json.MAPPER.createObjectNode().put("id", o.get("id").textValue());
      }
      boolean isPrivate = o.path("private").asBoolean(false);
      out.add(new Message(TopicKey.ofSubTopic(topic, isPrivate), new UserBroadcast(event, bytes, false, meta)));
    }
    return out;
  }

  /** Checks limits and permissions for all messages, then publishes them (all or none). */
  CompletableFuture<Outcome> publish(VerifiedToken token, List<Message> messages, ByteBufAllocator alloc) {
    for (Message m : messages) {
      if (m.broadcast().size() > rt.config().limits().maxPayloadBytes()) {
        rt.metrics().rejected("payload_size_exceeded");
        return CompletableFuture.completedFuture(new Outcome(422, "Payload size exceeded: the limit is "
            + rt.config().limits().maxPayloadBytes() / 1024 + " KB"));
      }
    }
    List<CompletableFuture<ChannelAuthorizer.Permissions>> checks = new ArrayList<>();
    for (TopicKey key : messages.stream().map(Message::key).filter(TopicKey::isPrivate).distinct().toList()) {
      checks.add(rt.authorizer().permissions(token, key));
    }
    return CompletableFuture.allOf(checks.toArray(CompletableFuture[]::new))
        .handle((v, failure) -> failure == null && checks.stream().allMatch(c -> c.join().writeBroadcast()))
        .thenApply(allowed -> {
          if (!allowed) {
            rt.metrics().rejected("unauthorized_write");
            return new Outcome(401, "Unauthorized");
          }
          if (!rt.broadcaster().admit(messages.size())) {
            return new Outcome(429, "Too many requests");
          }
          for (Message m : messages) {
            rt.metrics().messageIn("rest_broadcast", m.broadcast().size());
            rt.broadcaster().fromClient(m.key(), m.broadcast(), null, alloc);
          }
          return Outcome.ACCEPTED;
        });
  }
}
