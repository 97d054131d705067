package io.whatssound.realtime.runtime.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseContract;
import io.whatssound.realtime.postgres.DatabaseUrl;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.runtime.FaultCount;
import io.whatssound.realtime.runtime.TestSocket;
import io.whatssound.realtime.runtime.config.DatabaseSettings;
import io.whatssound.realtime.runtime.config.RuntimeConfig;
import io.whatssound.realtime.runtime.server.RealtimeServer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The replication stream against a real PostgreSQL that restarts and idles. */
class PostgresChangesRecoveryTest {
  private static final String SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
  @TempDir Path dataDir;
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

  private void exec(String sql) throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private RealtimeServer startRuntime() throws Exception {
    DatabaseUrl url = DatabaseUrl.parse(db.postgresUrl());
    RuntimeConfig config =
        RuntimeConfig.fromEnv(Map.of("REALTIME_PORT", "0", "REALTIME_JOIN_ERROR_DELAY_MS", "0"))
            .withJwtSecret(SECRET)
            .withDatabase(new DatabaseSettings(DatabaseSettings.Mode.URL, Optional.of(url), Optional.empty(), true,
                ContractSettings.defaults(), 0));
    return new RealtimeServer(config, Clock.systemUTC()).start();
  }

  private TestSocket subscribe(String table) throws Exception {
    TestSocket ws = new TestSocket(server.port(), TestSocket.token(SECRET, "anon"));
    ws.joinInserts(table);
    return ws;
  }

  @Test
  void aPostgresRestartUnderAThousandChangesASecondLosesNothing() throws Exception {
    db = EmbeddedDatabase.start(0, Optional.of(dataDir));
    int port = db.port();
    String jdbc = db.jdbcUrl();
    try (Connection c = db.connect()) {
      DatabaseContract.apply(c, ContractSettings.defaults());
    }
    exec("CREATE TABLE public.ticks (n int PRIMARY KEY)");
    exec("ALTER PUBLICATION supabase_realtime ADD TABLE public.ticks");
    exec("GRANT SELECT ON public.ticks TO anon");
    server = startRuntime();
    try (TestSocket ws = subscribe("ticks")) {
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger next = new AtomicInteger(1);
      Thread writer = new Thread(() -> writeTicks(jdbc, stop, next), "writer");
      writer.start();
      try {
        TestSocket.awaitTrue(() -> ticks(ws).size() >= 2_000, Duration.ofSeconds(60),
            () -> "2,000 changes before the restart");
        db.close();
        db = EmbeddedDatabase.start(port, Optional.of(dataDir));
        long up = System.nanoTime();
        int firstAfter = next.get();
        TestSocket.awaitTrue(() -> ticks(ws).stream().anyMatch(n -> n >= firstAfter), Duration.ofSeconds(60),
            () -> "a change written after the restart");
        long recovered = (System.nanoTime() - up) / 1_000_000;
        int until = next.get() + 2_000;
        TestSocket.awaitTrue(() -> next.get() >= until, Duration.ofSeconds(60),
            () -> "2,000 more changes written");
        stop.set(true);
        writer.join(30_000);
        Set<Integer> committed = new HashSet<>();
        try (Connection c = db.connect(); Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("SELECT n FROM public.ticks")) {
          while (rs.next()) {
            committed.add(rs.getInt(1));
          }
        }
        TestSocket.awaitTrue(() -> new HashSet<>(ticks(ws)).containsAll(committed), Duration.ofSeconds(60),
            () -> "every committed change");
        FaultCount count = FaultCount.of("postgres-restart", committed, ticks(ws), recovered).print();
        assertEquals(0, count.lost(), count.line());
      } finally {
        stop.set(true);
        writer.join(30_000);
      }
    }
  }

  /** Every {@code n} the socket received in a postgres_changes message, repeats included. */
  private static List<Integer> ticks(TestSocket ws) {
    List<Integer> out = new ArrayList<>();
    for (JsonNode m : ws.received) {
      if (m.get(3).asText().equals("postgres_changes")) {
        out.add(m.get(4).at("/data/record/n").asInt());
      }
    }
    return out;
  }

  /**
   * 1,000 rows a second (a transaction of 10 rows every 10 ms) until {@code stop}, reconnecting while the database is
   * away; which rows committed is read from the table afterwards (a commit cut by the restart may have happened).
   */
  private static void writeTicks(String jdbc, AtomicBoolean stop, AtomicInteger next) {
    long period = Duration.ofMillis(10).toNanos();
    long due = System.nanoTime();
    while (!stop.get()) {
      try (Connection c = DriverManager.getConnection(jdbc, EmbeddedDatabase.USER, EmbeddedDatabase.PASSWORD);
          Statement s = c.createStatement()) {
        while (!stop.get()) {
          int from = next.getAndAdd(10);
          s.execute("INSERT INTO public.ticks SELECT generate_series(" + from + ", " + (from + 9) + ")");
          due += period;
          long wait = due - System.nanoTime();
          if (wait > 0) {
            LockSupport.parkNanos(wait);
          }
        }
      } catch (SQLException e) {
        LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        due = System.nanoTime();
      }
    }
  }

  @Test
  void anIdleSlotDoesNotPinWal() throws Exception {
    db = EmbeddedDatabase.start(0, Optional.empty());
    exec("CREATE TABLE public.unpublished (n int, pad text)");
    server = startRuntime();
    try (TestSocket ws = subscribe("*")) {
      for (int i = 0; i < 5; i++) {
        exec("INSERT INTO public.unpublished SELECT g, repeat('x', 500) FROM generate_series(1, 20000) g");
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      long lag = Long.MAX_VALUE;
      while (System.nanoTime() < deadline) {
        try (Connection c = db.connect(); Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint "
                + "FROM pg_replication_slots WHERE slot_name = '" + ContractSettings.DEFAULT_SLOT + "'")) {
          rs.next();
          lag = rs.getLong(1);
        }
        if (lag < 1024 * 1024) {
          break;
        }
        Thread.sleep(200);
      }
      assertTrue(lag < 1024 * 1024, "the slot acknowledges idle WAL; retained " + lag + " bytes");
    }
  }

}
