package io.whatssound.realtime.runtime.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseUrl;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.runtime.TestSocket;
import io.whatssound.realtime.runtime.TestTables;
import io.whatssound.realtime.runtime.config.DatabaseSettings;
import io.whatssound.realtime.runtime.config.RuntimeConfig;
import io.whatssound.realtime.runtime.server.RealtimeServer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code /readyz} waits for the database to answer the pod's own credentials: a pod started with a role the database
 * does not know stays out of its Service (and stops a rollout at its first pod) while {@code /healthz} stays up, and
 * says why without the password. (The embedded server trusts loopback, so a wrong password alone would pass; a role it
 * does not have fails as a refused password does on a real server.)
 */
class ReadinessTest {
  private static final String SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
  private static final String WRONG = "not-the-password-4711";
  private final HttpClient http = HttpClient.newHttpClient();
  private EmbeddedDatabase db;
  private RealtimeServer server;

  @AfterEach
  void stop() throws Exception {
    if (server != null) {
      server.shutdown(Duration.ofSeconds(1));
    }
    if (db != null) {
      db.close();
    }
  }

  private RealtimeServer start(String postgresUrl) throws Exception {
    RuntimeConfig config =
        RuntimeConfig.fromEnv(Map.of("REALTIME_PORT", "0"))
            .withJwtSecret(SECRET)
            .withDatabase(new DatabaseSettings(DatabaseSettings.Mode.URL, Optional.of(DatabaseUrl.parse(postgresUrl)),
                Optional.empty(), false, ContractSettings.defaults(), 0));
    return new RealtimeServer(config, Clock.systemUTC()).start();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Polls {@code /readyz} until it answers {@code status}, for up to 30 s; returns the last answer. */
  private HttpResponse<String> awaitReadyz(int status) throws Exception {
    return awaitReadyz(status, "");
  }

  /**
   * Polls {@code /readyz} until it answers {@code status} with a body containing {@code saying} (a first answer may
   * come before the first attempt on the database), for up to 30 s; returns the last answer.
   */
  private HttpResponse<String> awaitReadyz(int status, String saying) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    HttpResponse<String> r = get("/readyz");
    while ((r.statusCode() != status || !r.body().contains(saying)) && System.nanoTime() < deadline) {
      Thread.sleep(100);
      r = get("/readyz");
    }
    return r;
  }

  @Test
  void aPodWhoseCredentialsTheDatabaseRefusesIsLiveButNotReadyAndSaysWhy() throws Exception {
    db = EmbeddedDatabase.start(0, Optional.empty());
    server = start(db.postgresUrl().replace(EmbeddedDatabase.USER + ":" + EmbeddedDatabase.PASSWORD + "@",
        "realtime_unknown_role:" + WRONG + "@"));
    HttpResponse<String> r = awaitReadyz(503, "realtime_unknown_role");
    assertEquals(503, r.statusCode(), r.body());
    assertTrue(r.body().contains("the database has not answered yet") && r.body().contains("realtime_unknown_role"),
        r.body());
    assertFalse(r.body().contains(WRONG), "no password in /readyz: " + r.body());
    assertEquals(200, get("/healthz").statusCode(), "alive: the kubelet must not restart it for this");
  }

  @Test
  void aPodWhoseDatabaseAnswersBecomesReady() throws Exception {
    db = EmbeddedDatabase.start(0, Optional.empty());
    server = start(db.postgresUrl());
    HttpResponse<String> r = awaitReadyz(200);
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("\"ready\""), r.body());
  }

  @Test
  void aPodStartedBeforeItsDatabaseIsAliveNotReadyAndServesOnceTheDatabaseComes() throws Exception {
    int port;
    try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = free.getLocalPort();
    }
    String url = "postgresql://" + EmbeddedDatabase.USER + ":" + EmbeddedDatabase.PASSWORD + "@127.0.0.1:" + port
        + "/postgres";
    server = start(url);
    HttpResponse<String> r = awaitReadyz(503, "127.0.0.1:" + port);
    System.out.println("readyz while the database is away: " + r.body());
    assertEquals(503, r.statusCode(), r.body());
    assertTrue(r.body().contains("127.0.0.1:" + port), "names the address it cannot reach: " + r.body());
    assertFalse(r.body().contains(EmbeddedDatabase.PASSWORD + "@"), "no password in /readyz: " + r.body());
    assertEquals(200, get("/healthz").statusCode(), "alive: the kubelet must not restart it for this");

    db = EmbeddedDatabase.start(port, Optional.empty());
    try (Connection c = db.connect()) {
      TestTables.contractWithSlot(c);
      TestTables.published(c, "late", "n int PRIMARY KEY");
    }
    r = awaitReadyz(200);
    assertEquals(200, r.statusCode(), r.body());
    try (TestSocket ws = new TestSocket(server.port(), TestSocket.token(SECRET, "anon"))) {
      ws.joinInserts("late");
      try (Connection c = db.connect(); Statement s = c.createStatement()) {
        s.execute("INSERT INTO public.late SELECT generate_series(1, 100)");
      }
      TestSocket.awaitTrue(() -> ws.received.stream().filter(m -> m.get(3).asText().equals("postgres_changes"))
          .count() == 100, Duration.ofSeconds(30), () -> "the 100 changes made once the database came");
    }
  }
}
