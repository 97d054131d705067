package io.whatssound.realtime.runtime.server;

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
import io.whatssound.realtime.runtime.channel.SocketLink;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.limits.RateWindow;
import io.whatssound.realtime.runtime.presence.PresenceState;
import io.whatssound.realtime.runtime.protocol.FrameCodec;
import io.whatssound.realtime.runtime.protocol.FrameException;
import io.whatssound.realtime.runtime.protocol.InboundMessage;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
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
  private SocketOutput out;
  private JoinFlow joins;
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
    this.out = new SocketOutput(rt.metrics(), link, codec, ctx.alloc());
    this.joins = new JoinFlow(rt, this, out, link, ctx, socketToken);
  }

  /** This socket's subscriptions by topic (its event loop only). */
  Map<String, Subscription> channels() {
    return channels;
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
      out.reply(m, "error", SocketOutput.reason(e.getMessage()));
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
        out.reply(m, "ok", SocketOutput.EMPTY);
      }
      return;
    }
    if ("phx_join".equals(m.event())) {
      joins.join(m);
      return;
    }
    Subscription sub = channels.get(m.topic());
    if (sub == null) {
      out.reply(m, "error", SocketOutput.reason("unmatched topic"));
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

  // ---- leave

  private void leave(Subscription sub, InboundMessage m) {
    stop(sub);
    out.reply(m, "ok", SocketOutput.EMPTY);
    out.push(sub, "phx_close", sub.joinRef(), SocketOutput.EMPTY);
  }

  /** Stops a channel on the server's initiative: a system error, then phx_close. */
  private void close(Subscription sub, String message) {
    out.system(sub, "system", "error", message);
    stop(sub);
    out.push(sub, "phx_close", sub.joinRef(), SocketOutput.EMPTY);
  }

  /** Forgets a subscription: presence leave, fan-out membership, timers. */
  void stop(Subscription sub) {
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
      out.reply(m, "error", SocketOutput.reason("payload_size_exceeded"));
      return;
    }
    if (!rt.broadcaster().admit(1)) {
      out.reply(m, "error", SocketOutput.reason(TOO_MANY_EVENTS));
      return;
    }
    if (!sub.permissions().writeBroadcast()) {
      rt.metrics().rejected("unauthorized_write");
      out.reply(m, "error", SocketOutput.reason("Unauthorized: You do not have permissions to write to this Channel topic: "
          + sub.key().subTopic()));
      return;
    }
    rt.broadcaster().fromClient(sub.key(), b, sub.self() ? null : sub, ctx.alloc());
    if (sub.ack()) {
      out.reply(m, "ok", SocketOutput.EMPTY);
    }
  }

  // ---- presence

  private void presence(Subscription sub, InboundMessage m) {
    String event = m.payload() == null ? "" : m.payload().path("event").asText("");
    if (!event.equals("track") && !event.equals("untrack")) {
      out.reply(m, "error", SocketOutput.reason("Presence event must be track or untrack"));
      return;
    }
    if (!presenceCalls.tryAcquire()) {
      rt.metrics().rejected("presence_calls");
      out.reply(m, "error", SocketOutput.reason(TOO_MANY_PRESENCE));
      return;
    }
    PresenceState state = rt.topics().presence(sub.key()).orElseThrow();
    if (event.equals("untrack")) {
      state.untrack(sub.id()).ifPresent(d -> publishDiff(sub, d));
      out.reply(m, "ok", SocketOutput.EMPTY);
      return;
    }
    if (!(m.payload().get("payload") instanceof ObjectNode fields)) {
      out.reply(m, "error", SocketOutput.reason("Presence track payload must be a map"));
      return;
    }
    if (!sub.permissions().writePresence()) {
      rt.metrics().rejected("unauthorized_write");
      out.reply(m, "error", SocketOutput.reason("Unauthorized: You do not have permissions to track presence on this Channel topic: "
          + sub.key().subTopic()));
      return;
    }
    state.track(sub.id(), sub.presenceKey(), fields, rt.ids().next()).ifPresent(d -> publishDiff(sub, d));
    out.reply(m, "ok", SocketOutput.EMPTY);
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

  /** Closes the channel when its token expires (unless another token replaced it first). */
  io.netty.util.concurrent.ScheduledFuture<?> scheduleExpiry(Subscription sub, VerifiedToken token) {
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

  /** What a client is told of a refused token: for an expired one, how long ago it expired. */
  String rejectionText(TokenRejected e, String raw) {
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
      out.system(sub, "system", "ok", "Server requested disconnect");
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
}
