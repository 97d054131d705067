package io.whatssound.realtime.runtime.server;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import java.util.Map;
import java.util.Optional;

/**
 * Liveness ({@code /healthz}), readiness ({@code /readyz}) and the Prometheus scrape ({@code /metrics}): on the
 * public port, and, with {@code REALTIME_METRICS_PORT}, on a port of their own, as the only thing it serves
 * ({@link #handler()}); the public port then leaves {@code /metrics} out.
 */
final class Probes {
  private final Readiness readiness;
  private final RuntimeMetrics metrics;
  private final boolean servesMetrics;

  Probes(Readiness readiness, RuntimeMetrics metrics, boolean servesMetrics) {
    this.readiness = readiness;
    this.metrics = metrics;
    this.servesMetrics = servesMetrics;
  }

  /** Whether this pod takes new sockets, and whether it should get traffic ({@code /readyz}). */
  interface Readiness {
    /** New WebSocket upgrades are accepted (not shutting down, and in the cluster when there is one). */
    boolean acceptsSockets();

    /** Empty when ready; otherwise why not, for {@code /readyz} (never a secret). */
    Optional<String> notReady();
  }

  /** Answers {@code path} when it is one of the probes; false when it is not. */
  boolean serve(ChannelHandlerContext ctx, FullHttpRequest req, String path) {
    switch (path) {
      case "/healthz" -> HttpResponses.json(ctx, req, HttpResponseStatus.OK, Map.of("status", "ok"));
      case "/readyz" -> {
        Optional<String> why = readiness.notReady();
        HttpResponses.json(ctx, req, why.isEmpty() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
            why.<Map<String, String>>map(w -> Map.of("status", "not ready", "reason", w))
                .orElse(Map.of("status", "ready")));
      }
      case "/metrics" -> {
        if (!servesMetrics) {
          return false;
        }
        HttpResponses.text(ctx, req, HttpResponseStatus.OK, metrics.scrape(), "text/plain; version=0.0.4; charset=utf-8");
      }
      default -> {
        return false;
      }
    }
    return true;
  }

  /** A handler for a port that serves these and nothing else (404 for any other path). */
  ChannelHandler handler() {
    return new Endpoint();
  }

  @Sharable
  private final class Endpoint extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      String path = new QueryStringDecoder(req.uri()).path();
      if (!req.decoderResult().isSuccess() || !serve(ctx, req, path)) {
        HttpResponses.json(ctx, req, HttpResponseStatus.NOT_FOUND, Map.of("message", "Not found: " + path));
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
