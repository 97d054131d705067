package io.whatssound.realtime.runtime.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.timeout.IdleStateHandler;
import io.whatssound.realtime.runtime.auth.TokenRejected;
import io.whatssound.realtime.runtime.channel.SocketLink;
import io.whatssound.realtime.runtime.protocol.Vsn;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The WebSocket handshake: refuses an upgrade this pod should not take (draining, unknown {@code vsn}, bad token,
 * too many users) with an HTTP answer, otherwise turns the connection's pipeline into a {@link SocketSession}'s.
 */
final class SocketUpgrade {
  private static final Logger LOG = LoggerFactory.getLogger(SocketUpgrade.class);

  /** Where the conformance echo answers when it is on (the root: test suites connect to a bare host and port). */
  static final String ECHO_PATH = "/";

  private final RuntimeContext rt;
  private final Probes.Readiness readiness;
  private final SessionTracker sessions;
  private final boolean echo;

  SocketUpgrade(RuntimeContext rt, Probes.Readiness readiness, SessionTracker sessions, boolean echo) {
    this.rt = rt;
    this.readiness = readiness;
    this.sessions = sessions;
    this.echo = echo;
  }

  /** Whether {@link #ECHO_PATH} is served (only when a test turned it on; never from configuration). */
  boolean echoEnabled() {
    return echo;
  }

  /**
   * The conformance echo (RFC 6455 test suites expect one): the same handshake, decoder, limits, aggregation, idle
   * timeout and control-frame and close handling as a client's socket, with a handler that sends each message back
   * instead of the channel protocol. No token or {@code vsn}: it carries no tenant data.
   */
  void upgradeEcho(ChannelHandlerContext ctx, FullHttpRequest req, QueryStringDecoder uri) {
    if (!asksForWebSocket(ctx, req)) {
      return;
    }
    WebSocketServerHandshaker handshaker = handshaker(req, uri);
    if (handshaker == null) {
      WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
      return;
    }
    install(ctx, new ControlFrames(rt.metrics()), "echo", new EchoFrames());
    handshaker.handshake(ctx.channel(), req).addListener(f -> {
      if (!f.isSuccess()) {
        ctx.channel().close();
      }
    });
  }

  /** Whether {@code req} asks for a WebSocket; answers 400 when it does not. */
  private static boolean asksForWebSocket(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (req.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
      return true;
    }
    HttpResponses.json(ctx, req, HttpResponseStatus.BAD_REQUEST,
        Map.of("error", "This endpoint only accepts WebSocket upgrades"));
    return false;
  }

  /** A handshaker for {@code req} with the decoder every socket uses; null for an unsupported WebSocket version. */
  private WebSocketServerHandshaker handshaker(FullHttpRequest req, QueryStringDecoder uri) {
    WebSocketDecoderConfig decoder =
        WebSocketDecoderConfig.newBuilder()
            .maxFramePayloadLength(rt.config().maxFrameBytes())
            .allowExtensions(false)
            .allowMaskMismatch(false)
            .withUTF8Validator(false)
            .closeOnProtocolViolation(true)
            .build();
    String location = "ws://" + req.headers().get(HttpHeaderNames.HOST, "localhost") + uri.path();
    return new WebSocketServerHandshakerFactory(location, null, decoder).newHandshaker(req);
  }

  /** Turns the connection's pipeline into a socket's: aggregation, idle timeout, control frames, then {@code last}. */
  private void install(ChannelHandlerContext ctx, ControlFrames control, String lastName, ChannelHandler last) {
    int maxFrame = rt.config().maxFrameBytes();
    ChannelPipeline p = ctx.pipeline();
    p.addFirst(SocketLink.ENTRY, SocketLink.Entry.INSTANCE);
    p.addBefore(ctx.name(), "ws-aggregator", new WebSocketFrameAggregator(maxFrame));
    p.addBefore(ctx.name(), "idle",
        new IdleStateHandler(rt.config().idleTimeout().toMillis(), 0, 0, TimeUnit.MILLISECONDS));
    p.addBefore(ctx.name(), "control", control);
    p.replace(ctx.name(), lastName, last);
  }

  /** Keeps the handshaken sockets for graceful shutdown. */
  interface SessionTracker {
    void opened(SocketSession session, Channel channel);
  }

  /** Upgrades the connection of {@code ctx} (the router's) or answers why not. */
  void upgrade(ChannelHandlerContext ctx, FullHttpRequest req, QueryStringDecoder uri) {
    if (!asksForWebSocket(ctx, req)) {
      return;
    }
    if (!readiness.acceptsSockets()) {
      // why: shutting down, or still joining its cluster (a client retries; the Service routes it to a ready pod)
      HttpResponses.json(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE,
          Map.of("error", "Server is not accepting sockets: " + readiness.notReady().orElse("shutting down")));
      return;
    }
    Optional<Vsn> vsn = Vsn.parse(HttpRouter.query(uri, "vsn"));
    if (vsn.isEmpty()) {
      HttpResponses.json(ctx, req, HttpResponseStatus.BAD_REQUEST,
          Map.of("error", "Unsupported vsn: use 1.0.0 or 2.0.0"));
      return;
    }
    // as Supabase reads it: the x-api-key header first, then the apikey parameter
    String apiKey = Optional.ofNullable(req.headers().get("x-api-key")).orElse(HttpRouter.query(uri, "apikey"));
    VerifiedToken token;
    try {
      token = rt.verifier().verify(apiKey);
    } catch (TokenRejected e) {
      rt.metrics().rejected("handshake_token");
      HttpResponses.json(ctx, req, HttpResponseStatus.UNAUTHORIZED, Map.of("error", e.getMessage()));
      return;
    }
    if (!rt.limiter().tryConnect()) {
      rt.metrics().rejected("concurrent_users");
      HttpResponses.json(ctx, req, HttpResponseStatus.TOO_MANY_REQUESTS, Map.of("error", "Too many connected users"));
      return;
    }
    WebSocketServerHandshaker handshaker = handshaker(req, uri);
    if (handshaker == null) {
      rt.limiter().disconnected();
      WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
      return;
    }
    ControlFrames control = new ControlFrames(rt.metrics());
    SocketSession session = new SocketSession(rt, vsn.get().codec(), token, control);
    install(ctx, control, "session", session);
    handshaker
        .handshake(ctx.channel(), req)
        .addListener(
            f -> {
              if (f.isSuccess()) {
                sessions.opened(session, ctx.channel());
              } else {
                LOG.debug("WebSocket handshake failed: {}", f.cause().toString());
                ctx.channel().close();
              }
            });
  }
}
