package io.whatssound.realtime.runtime.server;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.timeout.IdleStateHandler;
import io.whatssound.realtime.runtime.auth.TokenRejected;
import io.whatssound.realtime.runtime.channel.SocketLink;
import io.whatssound.realtime.runtime.protocol.FrameException;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.protocol.Vsn;
import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side of a connection: health, readiness and metrics, the REST broadcast API, and the
 * WebSocket handshake (authenticated and limited before the upgrade).
 */
final class HttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(HttpHandler.class);
  private static final List<String> PREFIXES = List.of("/realtime/v1", "");

  private final RuntimeContext rt;
  private final RestBroadcast rest;
  private final Readiness readiness;
  private final SessionTracker sessions;

  HttpHandler(RuntimeContext rt, Readiness readiness, SessionTracker sessions) {
    this.rt = rt;
    this.rest = new RestBroadcast(rt);
    this.readiness = readiness;
    this.sessions = sessions;
  }

  /** Whether this pod takes new sockets, and whether it should get traffic ({@code /readyz}). */
  interface Readiness {
    /** New WebSocket upgrades are accepted (not shutting down, and in the cluster when there is one). */
    boolean acceptsSockets();

    /** Empty when ready; otherwise why not, for {@code /readyz} (never a secret). */
    Optional<String> notReady();
  }

  /** Keeps the handshaken sockets for graceful shutdown. */
  interface SessionTracker {
    void opened(SocketSession session, io.netty.channel.Channel channel);
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (!req.decoderResult().isSuccess()) {
      HttpResponses.json(ctx, req, HttpResponseStatus.BAD_REQUEST, Map.of("message", "Malformed HTTP request"));
      return;
    }
    QueryStringDecoder uri = new QueryStringDecoder(req.uri());
    String path = uri.path();
    if (path.length() > 1 && path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    HttpMethod method = req.method();
    if (method.equals(HttpMethod.OPTIONS)) {
      HttpResponses.send(ctx, req, HttpResponseStatus.NO_CONTENT, new byte[0], null);
      return;
    }
    switch (path) {
      case "/healthz" -> HttpResponses.json(ctx, req, HttpResponseStatus.OK, Map.of("status", "ok"));
      case "/readyz" -> {
        Optional<String> why = readiness.notReady();
        HttpResponses.json(ctx, req, why.isEmpty() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
            why.<Map<String, String>>map(w -> Map.of("status", "not ready", "reason", w))
                .orElse(Map.of("status", "ready")));
      }
      case "/metrics" -> HttpResponses.text(ctx, req, HttpResponseStatus.OK, rt.metrics().scrape(),
          "text/plain; version=0.0.4; charset=utf-8");
      case "/socket/websocket", "/realtime/v1/websocket" -> upgrade(ctx, req, uri);
      default -> {
        Optional<String> api = apiPath(path);
        if (api.isPresent() && method.equals(HttpMethod.POST)) {
          restBroadcast(ctx, req, uri, api.get());
        } else if (api.isPresent()) {
          HttpResponses.json(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, Map.of("message", "Use POST"));
        } else {
          HttpResponses.json(ctx, req, HttpResponseStatus.NOT_FOUND, Map.of("message", "Not found: " + path));
        }
      }
    }
  }

  private static Optional<String> apiPath(String path) {
    for (String prefix : PREFIXES) {
      String base = prefix + "/api/broadcast";
      if (path.equals(base) || path.startsWith(base + "/")) {
        return Optional.of(path.substring(base.length()));
      }
    }
    return Optional.empty();
  }

  // ---- WebSocket handshake

  private void upgrade(ChannelHandlerContext ctx, FullHttpRequest req, QueryStringDecoder uri) {
    if (!req.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
      HttpResponses.json(ctx, req, HttpResponseStatus.BAD_REQUEST,
          Map.of("error", "This endpoint only accepts WebSocket upgrades"));
      return;
    }
    if (!readiness.acceptsSockets()) {
      HttpResponses.json(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, Map.of("error", "Server is shutting down"));
      return;
    }
    Optional<Vsn> vsn = Vsn.parse(first(uri, "vsn"));
    if (vsn.isEmpty()) {
      HttpResponses.json(ctx, req, HttpResponseStatus.BAD_REQUEST,
          Map.of("error", "Unsupported vsn: use 1.0.0 or 2.0.0"));
      return;
    }
    String apiKey = Optional.ofNullable(first(uri, "apikey")).orElse(req.headers().get("x-api-key"));
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
    int maxFrame = rt.config().maxFrameBytes();
    WebSocketDecoderConfig decoder =
        WebSocketDecoderConfig.newBuilder()
            .maxFramePayloadLength(maxFrame)
            .allowExtensions(false)
            .allowMaskMismatch(false)
            .withUTF8Validator(false)
            .closeOnProtocolViolation(true)
            .build();
    String location = "ws://" + req.headers().get(HttpHeaderNames.HOST, "localhost") + uri.path();
    WebSocketServerHandshaker handshaker =
        new WebSocketServerHandshakerFactory(location, null, decoder).newHandshaker(req);
    if (handshaker == null) {
      rt.limiter().disconnected();
      WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
      return;
    }
    SocketSession session = new SocketSession(rt, vsn.get().codec(), token);
    ChannelPipeline p = ctx.pipeline();
    p.addFirst(SocketLink.ENTRY, SocketLink.Entry.INSTANCE);
    p.addBefore(ctx.name(), "ws-aggregator", new WebSocketFrameAggregator(maxFrame));
    p.addBefore(ctx.name(), "idle",
        new IdleStateHandler(rt.config().idleTimeout().toMillis(), 0, 0, TimeUnit.MILLISECONDS));
    p.replace(ctx.name(), "session", session);
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

  // ---- REST broadcast

  private void restBroadcast(ChannelHandlerContext ctx, FullHttpRequest req, QueryStringDecoder uri, String sub) {
    VerifiedToken token;
    try {
      token = rt.verifier().verify(bearer(req));
    } catch (TokenRejected e) {
      rt.metrics().rejected("rest_token");
      HttpResponses.json(ctx, req, HttpResponseStatus.UNAUTHORIZED, Map.of("message", "Unauthorized"));
      return;
    }
    byte[] body = ByteBufUtil.getBytes(req.content());
    List<RestBroadcast.Message> messages;
    try {
      messages = sub.isEmpty() ? rest.parseBatch(body) : List.of(single(req, uri, sub, body));
    } catch (FrameException e) {
      rt.metrics().rejected("rest_bad_body");
      HttpResponses.json(ctx, req, HttpResponseStatus.UNPROCESSABLE_ENTITY, Map.of("message", e.getMessage()));
      return;
    }
    req.retain();
    rest.publish(token, messages, ctx.alloc())
        .whenComplete((outcome, failure) -> ctx.executor().execute(() -> {
          try {
            RestBroadcast.Outcome o = failure == null ? outcome : new RestBroadcast.Outcome(500, "Internal error");
            HttpResponses.json(ctx, req, HttpResponseStatus.valueOf(o.status()),
                o.message() == null ? null : Map.of("message", o.message()));
          } finally {
            req.release();
          }
        }));
  }

  /** {@code /{topic}/events/{event}} with a JSON or binary body. */
  private static RestBroadcast.Message single(FullHttpRequest req, QueryStringDecoder uri, String sub, byte[] body)
      throws FrameException {
    String[] parts = sub.substring(1).split("/");
    if (parts.length != 3 || !parts[1].equals("events") || parts[0].isEmpty() || parts[2].isEmpty()) {
      throw new FrameException("bad_path", "use POST /api/broadcast/{topic}/events/{event}");
    }
    String topic = URLDecoder.decode(parts[0], StandardCharsets.UTF_8);
    String event = URLDecoder.decode(parts[2], StandardCharsets.UTF_8);
    boolean isPrivate = "true".equalsIgnoreCase(first(uri, "private"));
    String type = Optional.ofNullable(req.headers().get(HttpHeaderNames.CONTENT_TYPE)).orElse("application/json");
    boolean binary = type.startsWith("application/octet-stream");
    if (!binary) {
      Json.validate(body, "request body");
    }
    return new RestBroadcast.Message(TopicKey.ofSubTopic(topic, isPrivate), new UserBroadcast(event, body, binary, null));
  }

  private static String bearer(FullHttpRequest req) {
    String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
    if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return auth.substring(7).trim();
    }
    return req.headers().get("apikey");
  }

  private static String first(QueryStringDecoder uri, String name) {
    List<String> v = uri.parameters().get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.debug("HTTP connection error: {}", cause.toString());
    ctx.close();
  }
}
