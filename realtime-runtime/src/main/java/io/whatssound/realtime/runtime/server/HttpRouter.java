package io.whatssound.realtime.runtime.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first handler of every connection: sends each HTTP request to the part that serves its path (probes and
 * metrics, the WebSocket upgrade, the REST broadcast API, the server time) and answers the rest with 404. It holds no logic of those
 * parts.
 */
final class HttpRouter extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(HttpRouter.class);
  private static final List<String> PREFIXES = List.of("/realtime/v1", "");

  private final Probes probes;
  private final SocketUpgrade upgrade;
  private final RestBroadcast rest;
  private final ClockSync clock;

  /** Whether the server is shutting down: every answer then closes its connection. */
  private final BooleanSupplier stopping;

  HttpRouter(Probes probes, SocketUpgrade upgrade, RestBroadcast rest, ClockSync clock, BooleanSupplier stopping) {
    this.stopping = stopping;
    this.probes = probes;
    this.upgrade = upgrade;
    this.rest = rest;
    this.clock = clock;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (!req.decoderResult().isSuccess()) {
      HttpResponses.json(ctx, req, HttpResponseStatus.BAD_REQUEST, Map.of("message", "Malformed HTTP request"));
      return;
    }
    if (stopping.getAsBoolean()) {
      // a kept-alive connection would hold its client (and kube-proxy's mapping) on this pod until it is gone
      HttpUtil.setKeepAlive(req, false);
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
    if (probes.serve(ctx, req, path)) {
      return;
    }
    if (path.equals("/api/time") || path.equals("/realtime/v1/api/time")) {
      clock.answer(ctx, req, clock.now());
      return;
    }
    if (path.equals(SocketUpgrade.ECHO_PATH) && upgrade.echoEnabled()) {
      upgrade.upgradeEcho(ctx, req, uri);
      return;
    }
    if (path.equals("/socket/websocket") || path.equals("/realtime/v1/websocket")) {
      upgrade.upgrade(ctx, req, uri);
      return;
    }
    Optional<String> api = apiPath(path);
    if (api.isPresent() && method.equals(HttpMethod.POST)) {
      rest.handle(ctx, req, uri, api.get());
    } else if (api.isPresent()) {
      HttpResponses.json(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, Map.of("message", "Use POST"));
    } else {
      HttpResponses.json(ctx, req, HttpResponseStatus.NOT_FOUND, Map.of("message", "Not found: " + path));
    }
  }

  /** What follows {@code /api/broadcast} in {@code path} (empty for the batch endpoint), if it is an API path. */
  private static Optional<String> apiPath(String path) {
    for (String prefix : PREFIXES) {
      String base = prefix + "/api/broadcast";
      if (path.equals(base) || path.startsWith(base + "/")) {
        return Optional.of(path.substring(base.length()));
      }
    }
    return Optional.empty();
  }

  /** The first value of a query parameter, or null. */
  static String query(QueryStringDecoder uri, String name) {
    List<String> v = uri.parameters().get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.debug("HTTP connection error: {}", cause.toString());
    ctx.close();
  }
}
