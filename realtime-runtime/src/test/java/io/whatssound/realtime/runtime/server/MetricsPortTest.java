package io.whatssound.realtime.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whatssound.realtime.runtime.TestSocket;
import io.whatssound.realtime.runtime.cluster.ClusterSettings;
import io.whatssound.realtime.runtime.config.RuntimeConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
    return start(extra, ClusterSettings.single("metrics-test"));
  }

  private RealtimeServer start(Map<String, String> extra, ClusterSettings cluster) throws Exception {
    Map<String, String> env = new HashMap<>(Map.of("REALTIME_PORT", "0", "REALTIME_HOST", "127.0.0.1",
        "REALTIME_DB_URL", "none"));
    env.putAll(extra);
    RuntimeConfig config = RuntimeConfig.fromEnv(env).withJwtSecret(SocketSessionTest.SECRET);
    server = new RealtimeServer(config, cluster, Clock.systemUTC()).start();
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

  private HttpResponse<String> shed(int port, String query, String auth) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/admin/shed" + query))
        .POST(HttpRequest.BodyPublishers.noBody());
    if (auth != null) {
      b.header("Authorization", auth);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void theOperatorCanAskAPodToShedSocketsWithTheClusterKey() throws Exception {
    String key = "shed-test-key-0123456789";
    ClusterSettings single = ClusterSettings.single("metrics-test");
    ClusterSettings withKey = new ClusterSettings(single.name(), single.port(), single.peers(), single.dns(),
        single.bind(), single.failureDetection(), single.mergeInterval(), single.statusInterval(), Optional.of(key));
    RealtimeServer s = start(Map.of("REALTIME_METRICS_PORT", "0"), withKey);
    int metrics = s.metricsPort().orElseThrow();
    List<TestSocket> clients = new ArrayList<>();
    try {
      for (int i = 0; i < 5; i++) {
        TestSocket c = new TestSocket(s.port(), TestSocket.token(SocketSessionTest.SECRET, "anon"));
        c.join("shed", "k" + i, false, false);
        clients.add(c);
      }
      assertEquals(401, shed(metrics, "?count=2", null).statusCode());
      assertEquals(401, shed(metrics, "?count=2", "Bearer wrong-key-0123456789").statusCode());
      assertEquals(400, shed(metrics, "?count=0", "Bearer " + key).statusCode());
      assertEquals(404, shed(s.port(), "?count=2", "Bearer " + key).statusCode(), "never on the public port");
      HttpResponse<String> ok = shed(metrics, "?count=2&seconds=1", "Bearer " + key);
      assertEquals(202, ok.statusCode(), ok.body());
      assertTrue(ok.body().contains("\"shedding\":2"), ok.body());
      TestSocket.awaitTrue(() -> clients.stream().filter(c -> c.received.stream().anyMatch(m ->
          m.toString().contains("Server requested disconnect"))).count() == 2, Duration.ofSeconds(10),
          () -> "two clients told to reconnect");
      Thread.sleep(300); // none more follows: the other three stay
      assertEquals(2, clients.stream().filter(c -> c.received.stream().anyMatch(m ->
          m.toString().contains("Server requested disconnect"))).count());
      assertTrue(s.accepting(), "the pod keeps serving");
    } finally {
      clients.forEach(TestSocket::close);
    }
  }

  @Test
  void withoutAClusterKeyThereIsNoAdminEndpoint() throws Exception {
    RealtimeServer s = start(Map.of("REALTIME_METRICS_PORT", "0"));
    assertEquals(404, shed(s.metricsPort().orElseThrow(), "?count=1", "Bearer anything").statusCode());
  }
}
