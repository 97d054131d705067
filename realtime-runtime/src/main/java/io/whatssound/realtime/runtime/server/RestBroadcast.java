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
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer.DatabaseUnavailable;
import io.whatssound.realtime.runtime.auth.TokenRejected;
import io.whatssound.realtime.runtime.protocol.FrameException;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * The REST broadcast API, answering as Supabase's does:
 * <ul>
 *   <li>{@code POST /api/broadcast} takes {@code {"messages":[...]}}. A message that is not valid refuses the whole
 *       request with 422 and Supabase's field errors, one entry a message. Messages for private topics the caller
 *       may not write are left out; the others are published, and the answer is 202.
 *   <li>{@code POST /api/broadcast/{topic}/events/{event}} takes a JSON body (an empty one is {@code {}}, one that is
 *       not an object arrives as {@code {"_json": value}}) or {@code application/octet-stream}. A private topic the
 *       caller may not write gets 403.
 * </ul>
 */
final class RestBroadcast {
  static final String UNSUPPORTED_TYPE = "Unsupported Media Type. Use application/json or application/octet-stream";
  static final String TOO_LARGE = "Payload size exceeds tenant limit";

  private final RuntimeContext rt;
  private final BooleanSupplier publishing;

  RestBroadcast(RuntimeContext rt) {
    this(rt, () -> true);
  }

  /**
   * @param publishing false once the server has stopped publishing while it shuts down: messages are then refused
   *                   with 503, never accepted and lost
   */
  RestBroadcast(RuntimeContext rt, BooleanSupplier publishing) {
    this.publishing = publishing;
    this.rt = rt;
  }

  /** What a request produced: an HTTP status and the JSON body (null for an empty one). */
  record Outcome(int status, Map<String, ?> body) {
    static final Outcome ACCEPTED = new Outcome(202, null);

    static Outcome message(int status, String message) {
      return new Outcome(status, Map.of("message", message));
    }
  }

  /** One message to publish. */
  record Message(TopicKey key, UserBroadcast broadcast) {}

  /** A request refused before anything is published. */
  static final class Refused extends Exception {
    private final transient Outcome outcome;

    Refused(Outcome outcome) {
      super(null, null, false, false);
      this.outcome = outcome;
    }

    Outcome outcome() {
      return outcome;
    }
  }

  /** Serves one request; {@code sub} is the path after {@code /api/broadcast}. */
  void handle(ChannelHandlerContext ctx, FullHttpRequest req, QueryStringDecoder uri, String sub) {
    if (!publishing.getAsBoolean()) {
      HttpResponses.json(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE,
          Map.of("message", "This server is shutting down: send the messages again, another server takes them"));
      return;
    }
    VerifiedToken token;
    try {
      token = rt.verifier().verify(bearer(req));
    } catch (TokenRejected e) {
      rt.metrics().rejected("rest_token");
      HttpResponses.json(ctx, req, HttpResponseStatus.UNAUTHORIZED, Map.of("message", "Unauthorized"));
      return;
    }
    byte[] body = ByteBufUtil.getBytes(req.content());
    CompletableFuture<Outcome> outcome;
    try {
      outcome = sub.isEmpty()
          ? publishBatch(token, parseBatch(body), ctx.alloc())
          : publishSingle(token, single(req, uri, sub, body), ctx.alloc());
    } catch (Refused e) {
      rt.metrics().rejected("rest_bad_body");
      HttpResponses.json(ctx, req, HttpResponseStatus.valueOf(e.outcome.status()), e.outcome.body());
      return;
    }
    req.retain();
    outcome.whenComplete((o, failure) -> ctx.executor().execute(() -> {
      try {
        Outcome answer = failure == null ? o : Outcome.message(500, "Unable to authorize broadcast");
        HttpResponses.json(ctx, req, HttpResponseStatus.valueOf(answer.status()), answer.body());
      } finally {
        req.release();
      }
    }));
  }

  /** {@code /{topic}/events/{event}} with a JSON or binary body. */
  private Message single(FullHttpRequest req, QueryStringDecoder uri, String sub, byte[] body) throws Refused {
    String[] parts = sub.substring(1).split("/");
    if (parts.length != 3 || !parts[1].equals("events") || parts[0].isEmpty() || parts[2].isEmpty()) {
      throw new Refused(Outcome.message(404, "use POST /api/broadcast/{topic}/events/{event}"));
    }
    String type = req.headers().get(HttpHeaderNames.CONTENT_TYPE);
    String mediaType = type == null ? "" : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
    boolean binary = mediaType.equals("application/octet-stream");
    if (!binary && !mediaType.isEmpty() && !mediaType.equals("application/json")) {
      throw new Refused(new Outcome(415, Map.of("error", UNSUPPORTED_TYPE)));
    }
    String topic = URLDecoder.decode(parts[0], StandardCharsets.UTF_8);
    String event = URLDecoder.decode(parts[2], StandardCharsets.UTF_8);
    boolean isPrivate = "true".equalsIgnoreCase(HttpRouter.query(uri, "private"));
    byte[] payload = body;
    if (!binary) {
      JsonNode value;
      try {
        value = body.length == 0 ? Json.MAPPER.createObjectNode() : Json.tree(body, 0, body.length, "request body");
      } catch (FrameException e) {
        throw new Refused(Outcome.message(422, e.getMessage()));
      }
      payload = Json.bytes(value.isObject() ? value : Json.MAPPER.createObjectNode().set("_json", value));
    }
    if (payload.length > rt.config().limits().maxPayloadBytes()) {
      rt.metrics().rejected("payload_size_exceeded");
      throw new Refused(new Outcome(422, Map.of("errors", Map.of("payload", List.of(TOO_LARGE)))));
    }
    return new Message(TopicKey.ofSubTopic(topic, isPrivate), new UserBroadcast(event, payload, binary, null));
  }

  private static String bearer(FullHttpRequest req) {
    String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
    if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return auth.substring(7).trim();
    }
    return req.headers().get("apikey");
  }

  /**
   * Parses and checks {@code {"messages":[{topic,event,payload,private?,id?}]}} as Supabase's changeset does;
   * refuses with its error shape, {@code {"errors":{"messages":[{}, {"payload":["is invalid"]}]}}}.
   */
  List<Message> parseBatch(byte[] body) throws Refused {
    ObjectNode root;
    try {
      root = Json.object(body, "request body");
    } catch (FrameException e) {
      throw new Refused(Outcome.message(422, e.getMessage()));
    }
    JsonNode list = root.get("messages");
    if (list == null || list.isNull() || (list instanceof ArrayNode a && a.isEmpty())) {
      throw new Refused(batchErrors(List.of("can't be blank")));
    }
    if (!(list instanceof ArrayNode arr)) {
      throw new Refused(batchErrors(List.of("is invalid")));
    }
    List<Message> out = new ArrayList<>(arr.size());
    List<Map<String, List<String>>> errors = new ArrayList<>(arr.size());
    boolean valid = true;
    for (JsonNode n : arr) {
      Map<String, List<String>> e = new LinkedHashMap<>();
      if (!(n instanceof ObjectNode o)) {
        // Supabase's changeset cannot even cast it
        throw new Refused(batchErrors(List.of("is invalid")));
      }
      String topic = text(o, "topic", e);
      String event = text(o, "event", e);
      JsonNode payload = o.get("payload");
      byte[] bytes = null;
      if (payload == null || payload.isNull()) {
        e.put("payload", List.of("can't be blank"));
      } else if (!payload.isObject()) {
        e.put("payload", List.of("is invalid"));
      } else {
        bytes = Json.bytes(payload);
        if (bytes.length > rt.config().limits().maxPayloadBytes()) {
          rt.metrics().rejected("payload_size_exceeded");
          e.put("payload", List.of(TOO_LARGE));
        }
      }
      Optional<Boolean> isPrivate = bool(o.get("private"));
      if (isPrivate.isEmpty()) {
        e.put("private", List.of("is invalid"));
      }
      ObjectNode meta = null;
      JsonNode id = o.get("id");
      if (id != null && !id.isNull()) {
        if (!id.isTextual() || !isUuid(id.textValue())) {
          e.put("id", List.of("is invalid"));
        } else {
          meta = Json.MAPPER.createObjectNode().put("id", id.textValue());
        }
      }
      errors.add(e);
      if (!e.isEmpty()) {
        valid = false;
        continue;
      }
      out.add(new Message(TopicKey.ofSubTopic(topic, isPrivate.get()), new UserBroadcast(event, bytes, false, meta)));
    }
    if (!valid) {
      throw new Refused(batchErrors(errors));
    }
    return out;
  }

  private static Outcome batchErrors(List<?> messages) {
    return new Outcome(422, Map.of("errors", Map.of("messages", messages)));
  }

  /** A required text field: blank or absent is "can't be blank", another type "is invalid". */
  private static String text(ObjectNode o, String field, Map<String, List<String>> errors) {
    JsonNode v = o.get(field);
    if (v == null || v.isNull() || (v.isTextual() && v.textValue().isBlank())) {
      errors.put(field, List.of("can't be blank"));
      return null;
    }
    if (!v.isTextual()) {
      errors.put(field, List.of("is invalid"));
      return null;
    }
    return v.textValue();
  }

  /** {@code private}: absent or null is false; booleans and their string forms are read; anything else is not. */
  private static Optional<Boolean> bool(JsonNode v) {
    if (v == null || v.isNull()) {
      return Optional.of(false);
    }
    if (v.isBoolean()) {
      return Optional.of(v.booleanValue());
    }
    if (v.isTextual() && (v.textValue().equalsIgnoreCase("true") || v.textValue().equalsIgnoreCase("false"))) {
      return Optional.of(Boolean.parseBoolean(v.textValue().toLowerCase(Locale.ROOT)));
    }
    return Optional.empty();
  }

  private static boolean isUuid(String s) {
    try {
      return UUID.fromString(s).toString().equalsIgnoreCase(s);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Publishes every message the caller may write (private topics are checked, each once); the rest are left out. */
  CompletableFuture<Outcome> publishBatch(VerifiedToken token, List<Message> messages, ByteBufAllocator alloc) {
    Map<TopicKey, CompletableFuture<Boolean>> writable = new HashMap<>();
    for (Message m : messages) {
      if (m.key().isPrivate()) {
        writable.computeIfAbsent(m.key(), k -> mayWrite(token, k));
      }
    }
    return CompletableFuture.allOf(writable.values().toArray(CompletableFuture[]::new)).thenApply(v -> {
      List<Message> allowed = messages.stream()
          .filter(m -> !m.key().isPrivate() || writable.get(m.key()).join())
          .toList();
      if (allowed.size() < messages.size()) {
        rt.metrics().rejected("unauthorized_write");
      }
      return publish(allowed, alloc);
    });
  }

  /**
   * Publishes one message; a private topic the caller may not write is refused with 403, and 422 when the database
   * that decides cannot be reached.
   */
  CompletableFuture<Outcome> publishSingle(VerifiedToken token, Message message, ByteBufAllocator alloc) {
    if (!message.key().isPrivate()) {
      return CompletableFuture.completedFuture(publish(List.of(message), alloc));
    }
    return rt.authorizer().permissions(token, message.key()).handle((p, failure) -> {
      if (failure != null && (failure instanceof DatabaseUnavailable || failure.getCause() instanceof DatabaseUnavailable)) {
        return Outcome.message(422, "Tenant database unavailable");
      }
      if (failure != null || !p.writeBroadcast()) {
        rt.metrics().rejected("unauthorized_write");
        return Outcome.message(403, "Unauthorized");
      }
      return publish(List.of(message), alloc);
    });
  }

  /** Whether the token may broadcast on a private topic; a failed check is a no. */
  private CompletableFuture<Boolean> mayWrite(VerifiedToken token, TopicKey key) {
    return rt.authorizer().permissions(token, key).handle((p, failure) -> failure == null && p.writeBroadcast());
  }

  private Outcome publish(List<Message> messages, ByteBufAllocator alloc) {
    if (!rt.broadcaster().admit(messages.size())) {
      return Outcome.message(429, "Too many requests");
    }
    for (Message m : messages) {
      rt.metrics().messageIn("rest_broadcast", m.broadcast().size());
      rt.broadcaster().fromClient(m.key(), m.broadcast(), null, alloc);
    }
    return Outcome.ACCEPTED;
  }
}
