package io.whatssound.realtime.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.timeout.IdleStateEvent;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer.Permissions;
import io.whatssound.realtime.runtime.auth.JwtVerifier;
import io.whatssound.realtime.runtime.auth.TokenRejected;
import io.whatssound.realtime.runtime.cdc.ChangeRequest;
import io.whatssound.realtime.runtime.cdc.PostgresChanges;
import io.whatssound.realtime.runtime.cdc.StoredBroadcasts;
import io.whatssound.realtime.runtime.channel.JoinRequest;
import io.whatssound.realtime.runtime.channel.SocketLink;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.limits.RateWindow;
import io.whatssound.realtime.runtime.presence.PresenceState;
import io.whatssound.realtime.runtime.protocol.FrameCodec;
import io.whatssound.realtime.runtime.protocol.FrameException;
import io.whatssound.realtime.runtime.protocol.InboundMessage;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client WebSocket after the handshake: reads frames, runs the channel protocol (join, leave,
 * broadcast, presence, access_token, heartbeat) and cleans up on disconnect. Everything here runs
 * on the socket's event loop.
 */
final class SocketSession extends SimpleChannelInboundHandler<WebSocketFrame> {
  private static final Logger LOG = LoggerFactory.getLogger(SocketSession.class);
  static final String TOO_MANY_EVENTS = "Too many messages per second";
  static final String TOO_MANY_PRESENCE = "PresenceRateLimitReached: Too many presence messages";
  private static final int LOGGED_MALFORMED = 5;
  private static final java.util.Set<String> KNOWN_EVENTS =
      java.util.Set.of("heartbeat", "phx_join", "phx_leave", "broadcast", "presence", "access_token");

  private final RuntimeContext rt;
  private final FrameCodec codec;
  private final VerifiedToken socketToken;
  private final Map<String, Subscription> channels = new HashMap<>();
  private final RateWindow presenceCalls;
  private SocketLink link;
  private ChannelHandlerContext ctx;
  private boolean closing;
  private int malformedFrames;

  SocketSession(RuntimeContext rt, FrameCodec codec, VerifiedToken socketToken) {
    this.rt = rt;
    this.codec = codec;
    this.socketToken = socketToken;
    this.presenceCalls = rt.limiter().newPresenceWindow();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.link = new SocketLink(ctx.channel(), codec, rt.metrics(), rt.config().slowConsumerDrops());
  }

  // ---- frames

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
    InboundMessage m;
    try {
      if (frame instanceof TextWebSocketFrame) {
        m = codec.decodeText(frame.content());
      } else if (frame instanceof BinaryWebSocketFrame) {
        m = codec.decodeBinary(frame.content());
      } else if (frame instanceof PingWebSocketFrame) {
        ctx.writeAndFlush(new PongWebSocketFrame(frame.content().retain()), ctx.voidPromise());
        return;
      } else if (frame instanceof CloseWebSocketFrame) {
        closing = true;
        ctx.writeAndFlush(frame.retainedDuplicate()).addListener(ChannelFutureListener.CLOSE);
        return;
      } else {
        return;
      }
    } catch (FrameException e) {
      malformed(e, "frame");
      return;
    }
    rt.metrics().messageIn(KNOWN_EVENTS.contains(m.event()) ? m.event() : "other", frame.content().readableBytes());
    try {
      dispatch(m);
    } catch (FrameException e) {
      malformed(e, m.event() + " message");
      reply(m, "error", reason(e.getMessage()));
    }
  }

  /** Counts every malformed frame; logs the first few of a socket at WARN so one client cannot flood the log. */
  private void malformed(FrameException e, String what) {
    rt.metrics().frameError(e.reason());
    if (++malformedFrames <= LOGGED_MALFORMED) {
      LOG.warn("Ignored a malformed {} from {}: {}{}", what, ctx.channel().remoteAddress(), e.getMessage(),
          malformedFrames == LOGGED_MALFORMED ? " (further ones from this socket are logged at DEBUG)" : "");
    } else {
      LOG.debug("Ignored a malformed {} from {}: {}", what, ctx.channel().remoteAddress(), e.getMessage());
    }
  }

  private void dispatch(InboundMessage m) throws FrameException {
    if ("phoenix".equals(m.topic())) {
      if ("heartbeat".equals(m.event())) {
        reply(m, "ok", EMPTY);
      }
      return;
    }
    if ("phx_join".equals(m.event())) {
      join(m);
      return;
    }
    Subscription sub = channels.get(m.topic());
    if (sub == null) {
      reply(m, "error", reason("unmatched topic"));
      return;
    }
    switch (m.event()) {
      case "phx_leave" -> leave(sub, m);
      case "broadcast" -> broadcast(sub, m);
      case "presence" -> presence(sub, m);
      case "access_token" -> accessToken(sub, m);
      default -> LOG.debug("Ignored event {} on {}", m.event(), m.topic());
    }
  }

  // ---- join and leave

  private void join(InboundMessage m) {
    String topic = m.topic();
    if (!topic.startsWith(TopicKey.PREFIX)) {
      reply(m, "error", reason("unmatched topic"));
      return;
    }
    String name = topic.substring(TopicKey.PREFIX.length());
    if (name.isEmpty()) {
      refuseJoin(m, "TopicNameRequired", "You must provide a topic name");
      return;
    }
    JoinRequest req = JoinRequest.parse(m.payload());
    Subscription existing = channels.get(topic);
    if (existing != null) {
      stop(existing);
      push(existing, "phx_close", existing.joinRef(), EMPTY);
    }
    if (rt.limiter().overUserLimit()) {
      refuseJoin(m, "ConnectionRateLimitReached", "Too many connected users");
      return;
    }
    if (!rt.limiter().tryJoin()) {
      refuseJoin(m, "ClientJoinRateLimitReached", "Too many joins per second");
      return;
    }
    if (channels.size() >= rt.config().limits().maxChannelsPerClient()) {
      refuseJoin(m, "ChannelRateLimitReached", "Too many channels");
      return;
    }
    VerifiedToken token = socketToken;
    if (req.accessToken().isPresent()) {
      try {
        token = rt.verifier().verify(req.accessToken().get());
      } catch (TokenRejected e) {
        refuseJoin(m, "InvalidJWTToken", rejectionText(e, req.accessToken().get()));
        return;
      }
    } else if (!token.expiresAt().isAfter(rt.clock().instant())) {
      refuseJoin(m, "InvalidJWTToken", rt.verifier().expiredAgo(token.expiresAt()));
      return;
    }
    TopicKey key = new TopicKey(topic, req.isPrivate());
    if (!key.isPrivate() && rt.config().privateOnly()) {
      refuseJoin(m, "PrivateOnly", "This project only allows private channels");
      return;
    }
    VerifiedToken verified = token;
    CompletableFuture<Permissions> decision = rt.authorizer().permissions(token, key);
    if (decision.isDone() && !decision.isCompletedExceptionally()) {
      admit(m, req, verified, key, name, decision.join());
    } else {
      decision.whenComplete(
          (p, failure) -> ctx.executor().execute(
              () -> admit(m, req, verified, key, name, failure == null ? p : Permissions.NONE)));
    }
  }

  /** Completes a join once its permissions are known. */
  private void admit(InboundMessage m, JoinRequest req, VerifiedToken token, TopicKey key, String name, Permissions perms) {
    if (!ctx.channel().isActive()) {
      return;
    }
    if (!perms.canRead()) {
      refuseJoin(m, "Unauthorized", "You do not have permissions to read from this Channel topic: " + name);
      return;
    }
    String topic = key.topic();
    Subscription existing = channels.get(topic);
    if (existing != null) {
      stop(existing);
      push(existing, "phx_close", existing.joinRef(), EMPTY);
    }
    String presenceKey = req.presenceKey().isEmpty() ? UUID.randomUUID().toString() : req.presenceKey();
    Subscription sub =
        new Subscription(
            rt.ids().next(), link, key, m.joinRef(), req.self(), req.ack(), presenceKey, req.presenceEnabled(), token);
    sub.permissions(perms);
    channels.put(topic, sub);
    PresenceState presence = rt.broadcaster().join(sub);
    sub.token(token, scheduleExpiry(sub, token));
    rt.metrics().join("ok");
    List<ObjectNode> bindings = req.postgresChanges();
    reply(
        m,
        "ok",
        g -> {
          g.writeStartObject();
          g.writeArrayFieldStart("postgres_changes");
          for (int i = 0; i < bindings.size(); i++) {
            ObjectNode b = bindings.get(i);
            g.writeStartObject();
            g.writeNumberField("id", i + 1);
            for (String f : List.of("event", "schema", "table", "filter")) {
              JsonNode v = b.get(f);
              if (v != null && v.isTextual()) {
                g.writeStringField(f, v.textValue());
              }
            }
            g.writeEndObject();
          }
          g.writeEndArray();
          g.writeEndObject();
        });
    if (sub.presenceEnabled() && perms.readPresence()) {
      push(sub, "presence_state", null, presence::writeState);
    }
    postgresChanges(sub, req, name);
    req.replay().filter(r -> key.isPrivate()).ifPresent(r -> replay(sub, r));
  }

  /** Starts the channel's Postgres Changes bindings; reports on the channel once live or failed. */
  private void postgresChanges(Subscription sub, JoinRequest req, String name) {
    List<ChangeRequest> requests = new ArrayList<>();
    if (req.legacy() && rt.postgres().isPresent()) {
      requests.add(ChangeRequest.legacy(name));
    } else {
      req.postgresChanges().forEach(b -> requests.add(ChangeRequest.of(b)));
    }
    if (requests.isEmpty()) {
      return;
    }
    if (rt.postgres().isEmpty()) {
      system(sub, "postgres_changes", "error",
          "Postgres Changes are not available: this runtime has no database configured");
      return;
    }
    rt.postgres().get().subscribe(sub, requests, req.legacy()).whenComplete(
        (error, failure) -> ctx.executor().execute(() -> {
          if (channels.get(sub.topicName()) != sub) {
            return;
          }
          if (failure != null) {
            LOG.warn("Postgres Changes subscription on {} failed", sub.topicName(), failure);
            system(sub, "postgres_changes", "error", "Unable to subscribe to changes: " + failure.getMessage());
          } else if (error.isPresent()) {
            system(sub, "postgres_changes", "error", error.get());
          } else {
            system(sub, "postgres_changes", "ok", PostgresChanges.SUBSCRIBED);
          }
        }));
  }

  /** Sends the topic's stored broadcasts since the requested time, oldest first, marked replayed. */
  private void replay(Subscription sub, JoinRequest.Replay r) {
    if (rt.postgres().isEmpty()) {
      return;
    }
    sub.trackStoredMessages(rt.clock().millis());
    rt.postgres().get().replay(sub.key(), r.sinceMillis(), r.limit()).thenAccept(
        stored -> ctx.executor().execute(() -> {
          if (channels.get(sub.topicName()) != sub) {
            return;
          }
          List<String> ids = new ArrayList<>();
          for (StoredBroadcasts.Stored m : stored) {
            ids.add(m.id());
            if (sub.firstDelivery(m.id())) {
              rt.metrics().messageOut("broadcast");
              link.send(codec.encodeBroadcast(ctx.alloc(), sub.topicName(), m.broadcast()));
            }
          }
          sub.replayDone(ids);
        }));
  }

  private void refuseJoin(InboundMessage m, String code, String message) {
    rt.metrics().join(code);
    rt.metrics().rejected(code);
    Duration delay = rt.config().joinErrorDelay();
    Runnable send = () -> reply(m, "error", reason(code + ": " + message));
    if (delay.isZero()) {
      send.run();
    } else {
      ctx.executor().schedule(send, delay.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void leave(Subscription sub, InboundMessage m) {
    stop(sub);
    reply(m, "ok", EMPTY);
    push(sub, "phx_close", sub.joinRef(), EMPTY);
  }

  /** Stops a channel on the server's initiative: a system error, then phx_close. */
  private void close(Subscription sub, String message) {
    system(sub, "system", "error", message);
    stop(sub);
    push(sub, "phx_close", sub.joinRef(), EMPTY);
  }

  /** Forgets a subscription: presence leave, fan-out membership, timers. */
  private void stop(Subscription sub) {
    channels.remove(sub.topicName(), sub);
    sub.cancelExpiry();
    rt.postgres().ifPresent(p -> p.unsubscribe(sub));
    rt.topics().presence(sub.key()).flatMap(p -> p.untrack(sub.id())).ifPresent(d -> publishDiff(sub, d));
    rt.topics().leave(sub);
  }

  // ---- broadcast

  private void broadcast(Subscription sub, InboundMessage m) throws FrameException {
    UserBroadcast b = m.broadcast() != null ? m.broadcast() : UserBroadcast.fromPushPayload(m.payload());
    if (b.size() > rt.config().limits().maxPayloadBytes()) {
      rt.metrics().rejected("payload_size_exceeded");
      reply(m, "error", reason("payload_size_exceeded"));
      return;
    }
    if (!rt.broadcaster().admit(1)) {
      reply(m, "error", reason(TOO_MANY_EVENTS));
      return;
    }
    if (!sub.permissions().writeBroadcast()) {
      rt.metrics().rejected("unauthorized_write");
      reply(m, "error", reason("Unauthorized: You do not have permissions to write to this Channel topic: "
          + sub.key().subTopic()));
      return;
    }
    rt.broadcaster().fromClient(sub.key(), b, sub.self() ? null : sub, ctx.alloc());
    if (sub.ack()) {
      reply(m, "ok", EMPTY);
    }
  }

  // ---- presence

  private void presence(Subscription sub, InboundMessage m) {
    String event = m.payload() == null ? "" : m.payload().path("event").asText("");
    if (!event.equals("track") && !event.equals("untrack")) {
      reply(m, "error", reason("Presence event must be track or untrack"));
      return;
    }
    if (!presenceCalls.tryAcquire()) {
      rt.metrics().rejected("presence_calls");
      reply(m, "error", reason(TOO_MANY_PRESENCE));
      return;
    }
    PresenceState state = rt.topics().presence(sub.key()).orElseThrow();
    if (event.equals("untrack")) {
      state.untrack(sub.id()).ifPresent(d -> publishDiff(sub, d));
      reply(m, "ok", EMPTY);
      return;
    }
    if (!(m.payload().get("payload") instanceof ObjectNode fields)) {
      reply(m, "error", reason("Presence track payload must be a map"));
      return;
    }
    if (!sub.permissions().writePresence()) {
      rt.metrics().rejected("unauthorized_write");
      reply(m, "error", reason("Unauthorized: You do not have permissions to track presence on this Channel topic: "
          + sub.key().subTopic()));
      return;
    }
    state.track(sub.id(), sub.presenceKey(), fields, rt.ids().next()).ifPresent(d -> publishDiff(sub, d));
    reply(m, "ok", EMPTY);
  }

  private void publishDiff(Subscription sub, PresenceState.Diff diff) {
    rt.broadcaster().presence(sub.key(), sub.id(), diff, ctx.alloc());
  }

  // ---- tokens

  private void accessToken(Subscription sub, InboundMessage m) {
    String raw = m.payload().path("access_token").asText("");
    if (raw.equals(sub.token().raw())) {
      return;
    }
    VerifiedToken token;
    try {
      token = rt.verifier().verify(raw);
    } catch (TokenRejected e) {
      close(sub, rejectionText(e, raw));
      return;
    }
    rt.authorizer().permissions(token, sub.key()).whenComplete(
        (p, failure) -> ctx.executor().execute(() -> {
          if (channels.get(sub.topicName()) != sub) {
            return;
          }
          Permissions perms = failure == null ? p : Permissions.NONE;
          if (!perms.canRead()) {
            close(sub, "You do not have permissions to read from this Channel topic: " + sub.key().subTopic());
            return;
          }
          sub.permissions(perms);
          sub.token(token, scheduleExpiry(sub, token));
          rt.postgres().ifPresent(pc -> pc.tokenChanged(sub));
        }));
  }

  private io.netty.util.concurrent.ScheduledFuture<?> scheduleExpiry(Subscription sub, VerifiedToken token) {
    long millis = Math.max(0, token.expiresAt().toEpochMilli() - rt.clock().millis());
    return ctx.executor()
        .schedule(
            () -> {
              if (channels.get(sub.topicName()) == sub) {
                close(sub, rt.verifier().expiredAgo(token.expiresAt()));
              }
            },
            millis,
            TimeUnit.MILLISECONDS);
  }

  private String rejectionText(TokenRejected e, String raw) {
    if (e.expired()) {
      return JwtVerifier.unverifiedExpiry(raw).map(rt.verifier()::expiredAgo).orElse(e.getMessage());
    }
    return e.getMessage();
  }

  // ---- server-initiated disconnect and cleanup

  /** Graceful shutdown: tell every channel, then close the socket so the client reconnects elsewhere. */
  void serverDisconnect() {
    closing = true;
    for (Subscription sub : new ArrayList<>(channels.values())) {
      system(sub, "system", "ok", "Server requested disconnect");
    }
    ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.ENDPOINT_UNAVAILABLE, "server shutting down"))
        .addListener(ChannelFutureListener.CLOSE);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent) {
      LOG.debug("Closing idle socket {}", ctx.channel().remoteAddress());
      rt.metrics().rejected("idle_timeout");
      ctx.close();
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    for (Subscription sub : new ArrayList<>(channels.values())) {
      stop(sub);
    }
    rt.limiter().disconnected();
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (!closing && ctx.channel().isActive() && !(cause instanceof java.io.IOException)) {
      LOG.warn("Closing socket {} after an error: {}", ctx.channel().remoteAddress(), cause.toString());
    } else {
      // resets and writes to sockets the client already closed are routine
      LOG.debug("Socket {} ended: {}", ctx.channel().remoteAddress(), cause.toString());
    }
    closing = true;
    ctx.close();
  }

  // ---- writing

  private static final Json.GeneratorWriter EMPTY =
      g -> {
        g.writeStartObject();
        g.writeEndObject();
      };

  private static Json.GeneratorWriter reason(String reason) {
    return g -> {
      g.writeStartObject();
      g.writeStringField("reason", reason);
      g.writeEndObject();
    };
  }

  private void reply(InboundMessage m, String status, Json.GeneratorWriter response) {
    rt.metrics().messageOut("reply");
    link.send(
        codec.encode(
            ctx.alloc(), m.joinRef(), m.ref(), m.topic(), "phx_reply",
            g -> {
              g.writeStartObject();
              g.writeStringField("status", status);
              g.writeFieldName("response");
              response.write(g);
              g.writeEndObject();
            }));
  }

  private void push(Subscription sub, String event, String ref, Json.GeneratorWriter payload) {
    rt.metrics().messageOut(event);
    link.send(codec.encode(ctx.alloc(), sub.joinRef(), ref, sub.topicName(), event, payload));
  }

  private void system(Subscription sub, String extension, String status, String message) {
    push(
        sub, "system", null,
        g -> {
          g.writeStartObject();
          g.writeStringField("extension", extension);
          g.writeStringField("status", status);
          g.writeStringField("message", message);
          g.writeStringField("channel", sub.key().subTopic());
          g.writeEndObject();
        });
  }
}
