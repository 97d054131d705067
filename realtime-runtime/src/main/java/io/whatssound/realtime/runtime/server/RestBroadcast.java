package io.whatssound.realtime.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer;
import io.whatssound.realtime.runtime.auth.TokenRejected;
import io.whatssound.realtime.runtime.protocol.FrameException;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The REST broadcast API ({@code POST /api/broadcast} and {@code /api/broadcast/{topic}/events/{event}}):
 * authenticates and validates a whole request, then publishes every message or none.
 */
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

  /** Serves one request; {@code sub} is the path after {@code /api/broadcast}. */
  void handle(ChannelHandlerContext ctx, FullHttpRequest req, QueryStringDecoder uri, String sub) {
    VerifiedToken token;
    try {
      token = rt.verifier().verify(bearer(req));
    } catch (TokenRejected e) {
      rt.metrics().rejected("rest_token");
      HttpResponses.json(ctx, req, HttpResponseStatus.UNAUTHORIZED, Map.of("message", "Unauthorized"));
      return;
    }
    byte[] body = ByteBufUtil.getBytes(req.content());
    List<Message> messages;
    try {
      messages = sub.isEmpty() ? parseBatch(body) : List.of(single(req, uri, sub, body));
    } catch (FrameException e) {
      rt.metrics().rejected("rest_bad_body");
      HttpResponses.json(ctx, req, HttpResponseStatus.UNPROCESSABLE_ENTITY, Map.of("message", e.getMessage()));
      return;
    }
    req.retain();
    publish(token, messages, ctx.alloc())
        .whenComplete((outcome, failure) -> ctx.executor().execute(() -> {
          try {
            Outcome o = failure == null ? outcome : new Outcome(500, "Internal error");
            HttpResponses.json(ctx, req, HttpResponseStatus.valueOf(o.status()),
                o.message() == null ? null : Map.of("message", o.message()));
          } finally {
            req.release();
          }
        }));
  }

  /** {@code /{topic}/events/{event}} with a JSON or binary body. */
  private static Message single(FullHttpRequest req, QueryStringDecoder uri, String sub, byte[] body)
      throws FrameException {
    String[] parts = sub.substring(1).split("/");
    if (parts.length != 3 || !parts[1].equals("events") || parts[0].isEmpty() || parts[2].isEmpty()) {
      throw new FrameException("bad_path", "use POST /api/broadcast/{topic}/events/{event}");
    }
    String topic = URLDecoder.decode(parts[0], StandardCharsets.UTF_8);
    String event = URLDecoder.decode(parts[2], StandardCharsets.UTF_8);
    boolean isPrivate = "true".equalsIgnoreCase(HttpRouter.query(uri, "private"));
    String type = Optional.ofNullable(req.headers().get(HttpHeaderNames.CONTENT_TYPE)).orElse("application/json");
    boolean binary = type.startsWith("application/octet-stream");
    if (!binary) {
      Json.validate(body, "request body");
    }
    return new Message(TopicKey.ofSubTopic(topic, isPrivate), new UserBroadcast(event, body, binary, null));
  }

  private static String bearer(FullHttpRequest req) {
    String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
    if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return auth.substring(7).trim();
    }
    return req.headers().get("apikey");
  }

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
