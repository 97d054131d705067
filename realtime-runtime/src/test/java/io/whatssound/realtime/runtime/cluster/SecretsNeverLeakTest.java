package io.whatssound.realtime.runtime.cluster;

import static io.whatssound.realtime.runtime.TestSocket.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.runtime.TestSocket;
import io.whatssound.realtime.runtime.TestTables;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A runtime process at DEBUG through a whole session (handshakes with good and bad tokens, a token refresh, joins with
 * presence, broadcasts, postgres_changes, REST, history, a database connection cut, shutdown): no line of its log holds
 * the JWT secret, the database password, or any token a client sent (nor a token's signature alone).
 */
class SecretsNeverLeakTest {
  private static final String PASSWORD = "db-password-" + UUID.randomUUID();
  private final Path logs = Path.of("target", "cluster-it-logs", UUID.randomUUID().toString());
  private final List<TestSocket> clients = new ArrayList<>();
  private PodProcess pod;
  private EmbeddedDatabase db;

  @AfterEach
  void stop() throws Exception {
    clients.forEach(TestSocket::close);
    if (pod != null) {
      pod.close();
    }
    if (db != null) {
      db.close();
    }
  }

  @Test
  void noSecretReachesTheLogAtDebug(@TempDir Path data) throws Exception {
    db = EmbeddedDatabase.start(0, Optional.of(data));
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE ROLE realtime_app LOGIN SUPERUSER REPLICATION PASSWORD '" + PASSWORD + "'");
      TestTables.contractWithSlot(c);
      TestTables.published(c, "tips", "n int PRIMARY KEY, amount int");
    }
    String url = "postgresql://realtime_app:" + PASSWORD + "@127.0.0.1:" + db.port() + "/postgres";
    Files.createDirectories(logs);
    List<Integer> clusterPorts = Ports.clusterPorts(1);
    pod = new PodProcess(Ports.free(), clusterPorts.get(0), PodProcess.env("secrets-" + UUID.randomUUID(),
        clusterPorts, Map.of("REALTIME_DB_URL", url, "REALTIME_HISTORY_TOPICS", "party:*",
            "JAVA_TOOL_OPTIONS", "-Dorg.slf4j.simpleLogger.defaultLogLevel=debug")), logs);
    awaitTrue(pod::ready, Duration.ofSeconds(60), () -> "the pod is ready; its log:\n" + pod.logTail());

    List<String> tokens = new ArrayList<>();
    String anon = TestSocket.token(PodProcess.SECRET, "anon");
    String service = TestSocket.token(PodProcess.SECRET, "service_role");
    String refreshed = TestSocket.token(PodProcess.SECRET, "authenticated");
    String forged = TestSocket.token("another-secret-with-at-least-32-characters!!", "service_role");
    tokens.addAll(List.of(anon, service, refreshed, forged));

    TestSocket a = client(anon);
    a.join("party:1", "dj", true, true);
    a.track("party:1", "{\"listener\":\"dj\"}");
    a.broadcast("party:1", "chat", "{\"text\":\"hello\"}");
    a.send("[\"1\",\"" + a.nextRef() + "\",\"realtime:party:1\",\"access_token\",{\"access_token\":\"" + refreshed
        + "\"}]");
    a.send("[\"2\",\"" + a.nextRef() + "\",\"realtime:tips\",\"phx_join\",{\"config\":{\"postgres_changes\":["
        + "{\"event\":\"*\",\"schema\":\"public\",\"table\":\"tips\"}]},\"access_token\":\"" + service + "\"}]");
    JsonNode sys = a.await(m -> m.get(3).asText().equals("system") && m.get(2).asText().equals("realtime:tips"),
        Duration.ofSeconds(30), "postgres_changes subscribed");
    assertEquals("ok", sys.get(4).path("status").asText(), sys.toString());
    // a join with a forged token, and handshakes with a forged and a malformed one
    a.send("[\"3\",\"" + a.nextRef() + "\",\"realtime:party:2\",\"phx_join\",{\"config\":{},\"access_token\":\""
        + forged + "\"}]");
    a.await(m -> m.get(2).asText().equals("realtime:party:2") && m.get(3).asText().equals("phx_reply"),
        Duration.ofSeconds(10), "the forged join refused");
    for (String bad : List.of(forged, anon.substring(0, anon.lastIndexOf('.') + 1) + "bm90LWEtc2lnbmF0dXJl")) {
      String status = upgrade(bad);
      assertTrue(status.startsWith("HTTP/1.1 401"), status);
    }
    HttpResponse<String> rest = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + pod.port + "/api/broadcast"))
        .header("Authorization", "Bearer " + service).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"messages\":[{\"topic\":\"party:1\",\"event\":\"tip\",\"payload\":{\"amount\":5}}]}"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(202, rest.statusCode(), rest.body());
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("INSERT INTO public.tips VALUES (1, 5)");
      // the runtime's connections cut: it reconnects with its credentials and says so
      s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'realtime_app'");
      s.execute("INSERT INTO public.tips VALUES (2, 7)");
    }
    awaitTrue(() -> a.received.stream().filter(m -> m.get(3).asText().equals("postgres_changes")).count() >= 2,
        Duration.ofSeconds(60), () -> "both changes, the second after the cut; log:\n" + pod.logTail());
    pod.close();

    String log = Files.readString(pod.log, StandardCharsets.UTF_8);
    assertTrue(log.contains("DEBUG"), "the log was written at DEBUG");
    List<String> secrets = new ArrayList<>(List.of(PodProcess.SECRET, PASSWORD));
    for (String t : tokens) {
      secrets.add(t);
      secrets.add(t.substring(t.lastIndexOf('.') + 1));
    }
    List<String> leaks = new ArrayList<>();
    for (String line : log.split("\n")) {
      for (String secret : secrets) {
        if (line.contains(secret)) {
          leaks.add(line);
        }
      }
    }
    System.out.println("secrets scan: " + log.split("\n").length + " log lines at DEBUG, " + secrets.size()
        + " secrets, " + leaks.size() + " leaks");
    assertEquals(List.of(), leaks, "log lines holding a secret");
  }

  private TestSocket client(String token) {
    TestSocket c = new TestSocket(pod.port, token);
    clients.add(c);
    return c;
  }

  /** The status line of a WebSocket handshake with {@code token} (a raw request: HttpClient refuses Upgrade). */
  private String upgrade(String token) throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), pod.port)) {
      s.setSoTimeout(5000);
      s.getOutputStream().write(("GET /socket/websocket?vsn=2.0.0&apikey=" + token + " HTTP/1.1\r\n"
          + "Host: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
          + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
    }
  }
}
