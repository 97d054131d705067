package io.whatssound.realtime.runtime.server;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.whatssound.realtime.runtime.channel.SocketLink;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.protocol.FrameCodec;
import io.whatssound.realtime.runtime.protocol.FrameException;
import io.whatssound.realtime.runtime.protocol.InboundMessage;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client WebSocket after the handshake: decodes data frames and runs the channel protocol. It keeps the
 * socket's subscriptions, sends each message to the part that serves its event ({@link JoinFlow},
 * {@link ClientBroadcasts}, {@link PresenceMessages}, {@link AccessTokens}), handles leave, and cleans up on
 * disconnect. Control frames and idleness are {@link ControlFrames}'. Everything here runs on the socket's event
 * loop.
 */
final class SocketSession extends SimpleChannelInboundHandler<WebSocketFrame> {
  private static final Logger LOG = LoggerFactory.getLogger(SocketSession.class);
  private static final int LOGGED_MALFORMED = 5;
  private static final Set<String> KNOWN_EVENTS =
      Set.of("heartbeat", "clock", "phx_join", "phx_leave", "broadcast", "presence", "access_token");

  private final RuntimeContext rt;
  private final FrameCodec codec;
  private final VerifiedToken socketToken;
  private final ControlFrames control;
  private final Map<String, Subscription> channels = new HashMap<>();
  private SocketOutput out;
  private JoinFlow joins;
  private ClientBroadcasts broadcasts;
  private PresenceMessages presence;
  private AccessTokens tokens;
  private ClockSync clock;
  private ChannelHandlerContext ctx;
  private int malformedFrames;

  SocketSession(RuntimeContext rt, FrameCodec codec, VerifiedToken socketToken, ControlFrames control) {
    this.rt = rt;
    this.codec = codec;
    this.socketToken = socketToken;
    this.control = control;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    SocketLink link = new SocketLink(ctx.channel(), codec, rt.metrics(), rt.config().slowConsumerDrops());
    this.out = new SocketOutput(rt.metrics(), link, codec, ctx.alloc());
    this.tokens = new AccessTokens(rt, this, ctx.executor());
    this.joins = new JoinFlow(rt, this, tokens, out, link, ctx, socketToken);
    this.broadcasts = new ClientBroadcasts(rt, out, ctx.alloc());
    this.presence = new PresenceMessages(rt, this, out, ctx.alloc());
    this.clock = new ClockSync(rt.clock());
  }

  /** This socket's subscriptions by topic (its event loop only). */
  Map<String, Subscription> channels() {
    return channels;
  }

  /** Whether {@code sub} is still this socket's subscription to its topic. */
  boolean holds(Subscription sub) {
    return channels.get(sub.topicName()) == sub;
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
      } else if ("clock".equals(m.event())) {
        // t1 right after decoding: no clock read on the path of every other frame
        clock.answer(out, m, clock.now());
      }
      return;
    }
    if ("phx_join".equals(m.event())) {
      joins.join(m);
      return;
    }
    Subscription sub = channels.get(m.topic());
    if (sub == null) {
      if ("phx_leave".equals(m.event())) {
        // as Phoenix does: ok for a channel not (or no longer) joined, which clients send in teardown races; a
        // join still waiting on the database is dropped
        joins.cancelPending(m.topic());
        out.reply(m, "ok", SocketOutput.EMPTY);
      } else {
        out.reply(m, "error", SocketOutput.reason("unmatched topic"));
      }
      return;
    }
    if (m.joinRef() != null && sub.joinRef() != null && !m.joinRef().equals(sub.joinRef())) {
      // meant for an earlier join of this topic, which the client has already left: Phoenix ignores it
      LOG.debug("Ignored {} on {} for join {} (current join {})", m.event(), m.topic(), m.joinRef(), sub.joinRef());
      return;
    }
    switch (m.event()) {
      case "phx_leave" -> leave(sub, m);
      case "broadcast" -> broadcasts.handle(sub, m);
      case "presence" -> presence.handle(sub, m);
      case "access_token" -> tokens.refresh(sub, m);
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
  void close(Subscription sub, String message) {
    out.system(sub, "system", "error", message);
    stop(sub);
    out.push(sub, "phx_close", sub.joinRef(), SocketOutput.EMPTY);
  }

  /** Forgets a subscription: presence leave, fan-out membership, timers. */
  void stop(Subscription sub) {
    channels.remove(sub.topicName(), sub);
    sub.cancelExpiry();
    rt.postgres().ifPresent(p -> p.unsubscribe(sub));
    presence.ended(sub);
    rt.topics().leave(sub);
  }

  // ---- server-initiated disconnect and cleanup

  /**
   * The pod starts to drain: no more joins on this socket, and what it tracked in presence leaves now (on every pod),
   * not when its turn to be closed comes. Called on the socket's event loop.
   */
  void drainStarted() {
    joins.refuseAll();
    for (Subscription sub : channels.values()) {
      presence.ended(sub);
    }
  }

  /** Graceful shutdown: tell every channel, then close the socket so the client reconnects elsewhere. */
  void serverDisconnect() {
    control.closingNow();
    for (Subscription sub : new ArrayList<>(channels.values())) {
      out.system(sub, "system", "ok", "Server requested disconnect");
    }
    ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.ENDPOINT_UNAVAILABLE, "server shutting down"))
        .addListener(ChannelFutureListener.CLOSE);
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
    if (!control.closing() && ctx.channel().isActive() && !(cause instanceof IOException)) {
      LOG.warn("Closing socket {} after an error: {}", ctx.channel().remoteAddress(), cause.toString());
    } else {
      // resets and writes to sockets the client already closed are routine
      LOG.debug("Socket {} ended: {}", ctx.channel().remoteAddress(), cause.toString());
    }
    control.closingNow();
    ctx.close();
  }
}
