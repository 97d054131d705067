package io.whatssound.realtime.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whatssound.realtime.runtime.cluster.ClusterSettings;
import io.whatssound.realtime.runtime.config.RuntimeConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** With REALTIME_METRICS_PORT, /metrics leaves the public port for a port of its own, which serves nothing else. */
class MetricsPortTest {
  private final HttpClient http = HttpClient.newHttpClient();
  private RealtimeServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.shutdown(Duration.ofMillis(100));
    }
  }

  private RealtimeServer start(Map<String, String> extra) throws Exception {
    Map<String, String> env = new HashMap<>(Map.of("REALTIME_PORT", "0", "REALTIME_HOST", "127.0.0.1",
        "REALTIME_DB_URL", "none"));
    env.putAll(extra);
    RuntimeConfig config = RuntimeConfig.fromEnv(env).withJwtSecret(SocketSessionTest.SECRET);
    server = new RealtimeServer(config, ClusterSettings.single("metrics-test"), Clock.systemUTC()).start();
    return server;
  }

  private HttpResponse<String> get(int port, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void metricsMoveToTheirOwnPort() throws Exception {
    RealtimeServer s = start(Map.of("REALTIME_METRICS_PORT", "0"));
    int metrics = s.metricsPort().orElseThrow();
    assertEquals(404, get(s.port(), "/metrics").statusCode(), "not on the public port");
    HttpResponse<String> scrape = get(metrics, "/metrics");
    assertEquals(200, scrape.statusCode());
    assertTrue(scrape.body().contains("realtime_connections"), scrape.body());
    assertEquals(200, get(metrics, "/readyz").statusCode());
    assertEquals(200, get(s.port(), "/readyz").statusCode(), "the kubelet may still probe the public port");
    assertEquals(404, get(metrics, "/api/broadcast").statusCode(), "the metrics port serves nothing else");
  }

  @Test
  void withoutItMetricsStayOnThePublicPort() throws Exception {
    RealtimeServer s = start(Map.of());
    assertTrue(s.metricsPort().isEmpty());
    assertEquals(200, get(s.port(), "/metrics").statusCode());
  }
}
