package io.whatssound.realtime.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.whatssound.realtime.operator.Fixtures;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterStatus;
import io.whatssound.realtime.operator.api.SessionPoolStatus;
import io.whatssound.realtime.operator.metrics.OperatorMetrics;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * Every metric the chart's alerts (files/alerts.yaml) and dashboard (files/dashboard.json) name exists: scraped from the
 * operator's meters and from the built runtime jar (standalone, embedded database) after a socket joined a topic and a
 * broadcast reached it.
 */
class MonitoringNamesTest {
  static final Pattern NAME = Pattern.compile("\\b(realtime_[a-z0-9_]+)\\b");
  static final String SECRET = "monitoring-names-secret-0123456789-abcdefghij";

  static Set<String> referenced() throws IOException {
    Path files = Examples.repoRoot().resolve("helm/realtime-operator/files");
    Set<String> out = new TreeSet<>();
    for (String f : new String[] {"alerts.yaml", "dashboard.json"}) {
      Matcher m = NAME.matcher(Files.readString(files.resolve(f)));
      while (m.find()) {
        out.add(m.group(1));
      }
    }
    return out;
  }

  static Set<String> names(String scrape) {
    Set<String> out = new TreeSet<>();
    for (String line : scrape.split("\n")) {
      if (!line.isEmpty() && !line.startsWith("#")) {
        out.add(line.split("[{ ]", 2)[0]);
      }
    }
    return out;
  }

  static Set<String> operatorNames() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    OperatorMetrics metrics = new OperatorMetrics(registry);
    RealtimeCluster c = Fixtures.cluster("party", "db", 5432, "app");
    metrics.reconcileCustomResource(c, null, Map.of());
    metrics.failedReconciliation(c, new IllegalStateException("test"), Map.of());
    metrics.cluster(c, new RealtimeClusterStatus(), Instant.now());
    metrics.pool(Fixtures.pool("party-main", "party", 2), new SessionPoolStatus());
    return names(registry.scrape());
  }

  static String jwt(String secret) throws Exception {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String body = b64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8)) + "."
        + b64.encodeToString(("{\"role\":\"anon\",\"exp\":" + (Instant.now().getEpochSecond() + 600) + "}")
            .getBytes(StandardCharsets.UTF_8));
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return body + "." + b64.encodeToString(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static Set<String> runtimeNames() throws Exception {
    Path jar = Examples.repoRoot().resolve("realtime-runtime/target/realtime-runtime.jar");
    assertTrue(Files.exists(jar), "build the runtime first (mvn package): " + jar);
    int port = freePort();
    ProcessBuilder pb = new ProcessBuilder("java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", jar.toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    Map<String, String> env = pb.environment();
    env.putAll(Map.of("REALTIME_PORT", String.valueOf(port), "REALTIME_JWT_SECRET", SECRET,
        "REALTIME_EMBEDDED_DB_PORT", "0", "REALTIME_HISTORY_TOPICS", "names", "REALTIME_HOST", "127.0.0.1"));
    env.remove("REALTIME_DB_URL");
    Process runtime = pb.start();
    HttpClient http = HttpClient.newHttpClient();
    String base = "http://127.0.0.1:" + port;
    try {
      Instant deadline = Instant.now().plusSeconds(60);
      while (true) {
        try {
          if (http.send(HttpRequest.newBuilder(URI.create(base + "/readyz")).build(),
              HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
            break;
          }
        } catch (IOException notYet) {
          // not listening yet
        }
        assertTrue(Instant.now().isBefore(deadline) && runtime.isAlive(), "the runtime did not become ready");
        Thread.sleep(200);
      }
      String key = jwt(SECRET);
      CompletableFuture<Void> got = new CompletableFuture<>();
      CompletableFuture<Void> joined = new CompletableFuture<>();
      WebSocket ws = http.newWebSocketBuilder().buildAsync(
          URI.create("ws://127.0.0.1:" + port + "/realtime/v1/websocket?vsn=1.0.0&apikey=" + key),
          new WebSocket.Listener() {
            @Override
            public CompletableFuture<?> onText(WebSocket w, CharSequence data, boolean last) {
              String s = data.toString();
              if (s.contains("phx_reply")) {
                joined.complete(null);
              }
              if (s.contains("\"broadcast\"")) {
                got.complete(null);
              }
              w.request(1);
              return null;
            }
          }).get(10, TimeUnit.SECONDS);
      ws.sendText("{\"topic\":\"realtime:names\",\"event\":\"phx_join\",\"payload\":{},\"ref\":\"1\"}", true);
      joined.get(10, TimeUnit.SECONDS);
      HttpResponse<String> sent = http.send(HttpRequest.newBuilder(URI.create(base + "/api/broadcast"))
          .header("apikey", key).header("content-type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(
              "{\"messages\":[{\"topic\":\"names\",\"event\":\"e\",\"payload\":{}}]}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(202, sent.statusCode(), sent.body());
      got.get(10, TimeUnit.SECONDS);
      ws.abort();
      return names(http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body());
    } finally {
      runtime.destroy();
      if (!runtime.waitFor(20, TimeUnit.SECONDS)) {
        runtime.destroyForcibly();
      }
    }
  }

  @Test
  void everyMetricTheAlertsAndTheDashboardNameExists() throws Exception {
    Set<String> referenced = referenced();
    assertTrue(referenced.size() >= 15, "the files name metrics: " + referenced);
    Set<String> exported = new TreeSet<>(operatorNames());
    exported.addAll(runtimeNames());
    Set<String> missing = new TreeSet<>(referenced);
    missing.removeAll(exported);
    assertEquals(Set.of(), missing, "named in the chart's alerts or dashboard but exported by nothing");
  }

  @Test
  void aMisspelledNameWouldBeFound() {
    Set<String> names = operatorNames();
    assertTrue(names.contains(OperatorMetrics.SLOT_RETAINED));
    assertTrue(names.contains("realtime_operator_reconcile_failures_total"));
    assertTrue(!names.contains("realtime_operator_slot_retained"), "names are compared whole");
  }
}
