package io.whatssound.realtime.runtime.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import java.util.Map;
import java.util.Optional;

/** Liveness ({@code /healthz}), readiness ({@code /readyz}) and the Prometheus scrape ({@code /metrics}). */
final class Probes {
  private final Readiness readiness;
  private final RuntimeMetrics metrics;

  Probes(Readiness readiness, RuntimeMetrics metrics) {
    this.readiness = readiness;
    this.metrics = metrics;
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
      case "/metrics" -> HttpResponses.text(ctx, req, HttpResponseStatus.OK, metrics.scrape(),
          "text/plain; version=0.0.4; charset=utf-8");
      default -> {
        return false;
      }
    }
    return true;
  }
}
