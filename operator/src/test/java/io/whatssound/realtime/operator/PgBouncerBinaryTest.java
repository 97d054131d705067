package io.whatssound.realtime.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.model.PgBouncerModel;
import io.whatssound.realtime.operator.model.PoolerTls;
import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseCa;
import io.whatssound.realtime.postgres.DatabaseContract;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.postgres.PoolerAuth;
import io.whatssound.realtime.postgres.TlsDatabase;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The generated pgbouncer.ini runs in the real PgBouncer against real PostgreSQL, and a query goes through. */
class PgBouncerBinaryTest {
  static final Path BINARY = Path.of("/usr/sbin/pgbouncer");
  static EmbeddedDatabase db;

  @BeforeAll
  static void start() throws Exception {
    assumeTrue(Files.isExecutable(BINARY), "pgbouncer is not installed at " + BINARY
        + " (apt-get install -y pgbouncer); skipping the real-binary pooler test");
    db = EmbeddedDatabase.start(0, Optional.empty());
  }

  @AfterAll
  static void stop() throws IOException {
    if (db != null) {
      db.close();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"AuthQuery", "Userlist"})
  void aQueryThroughTheGeneratedConfigurationSucceeds(String authMode) throws Exception {
    RealtimeCluster cluster = Fixtures.cluster("pgb", "127.0.0.1", db.port(), "postgres");
    cluster.getSpec().getPooler().setAuthMode(authMode);
    cluster.getSpec().getPooler().setParameters(Map.of("default_pool_size", "5"));
    String role = "rt_" + authMode.toLowerCase();
    try (Connection owner = db.connect()) {
      DatabaseContract.apply(owner, ContractSettings.defaults());
      DatabaseContract.ensureRuntimeRole(owner, role, "runtime-pw-1");
      PoolerAuth.ensure(owner, role + "_pgb", "auth-pw-2");
    }
    Path dir = Files.createTempDirectory("pgbouncer");
    PgBouncerModel.Files files = PgBouncerModel.render(cluster,
        new PgBouncerModel.Credentials(role, "runtime-pw-1", role + "_pgb", "auth-pw-2"), dir.toString());
    try (Running pgb = start(files, dir)) {
      assertEquals(role, pgb.query(role, "runtime-pw-1", "SELECT current_user"));
    }
  }

  @Test
  void withTheDatabasesCaPgBouncerVerifiesTheServerAndRefusesAnother() throws Exception {
    Path certs = Files.createTempDirectory("tls-db");
    try (TlsDatabase tls = TlsDatabase.start(certs)) {
      RealtimeCluster cluster = Fixtures.cluster("pgbtls", "localhost", tls.db().port(), "postgres");
      cluster.getSpec().getDatabase().setSslMode("verify-full");
      cluster.getSpec().getPooler().setAuthMode("Userlist");
      try (Connection owner = tls.db().connect()) {
        DatabaseContract.apply(owner, ContractSettings.defaults());
        DatabaseContract.ensureRuntimeRole(owner, "rt_tls", "runtime-pw-3");
      }
      PgBouncerModel.Credentials creds = new PgBouncerModel.Credentials("rt_tls", "runtime-pw-3", "unused", "unused");
      Path dir = Files.createTempDirectory("pgbouncer");
      try (Running pgb = start(PgBouncerModel.render(cluster, creds, dir.toString(),
          new PgBouncerModel.Tls(Optional.of(tls.ca()), Optional.empty())), dir)) {
        assertEquals("t", pgb.query("rt_tls", "runtime-pw-3", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"),
            "PgBouncer reached the database over TLS, verified");
      }
      Path wrong = Files.createTempDirectory("pgbouncer");
      try (Running pgb = start(PgBouncerModel.render(cluster, creds, wrong.toString(),
          new PgBouncerModel.Tls(Optional.of(tls.otherCa()), Optional.empty())), wrong)) {
        // PgBouncer cannot log in to a server whose certificate the given CA did not sign: no query gets through
        assertThrows(AssertionError.class, () -> pgb.query("rt_tls", "runtime-pw-3", "SELECT 1", Duration.ofSeconds(6)));
        assertTrue(read(wrong.resolve("log")).toLowerCase().contains("certificate"), read(wrong.resolve("log")));
      }
    }
  }

  @Test
  void theRuntimePodsReachPgBouncerOverTlsAndVerifyIt() throws Exception {
    RealtimeCluster cluster = Fixtures.cluster("pgbclient", "127.0.0.1", db.port(), "postgres");
    cluster.getSpec().getDatabase().setSslMode("disable"); // this test's database; the clients' side is the point
    cluster.getSpec().getPooler().setAuthMode("Userlist");
    try (Connection owner = db.connect()) {
      DatabaseContract.apply(owner, ContractSettings.defaults());
      DatabaseContract.ensureRuntimeRole(owner, "rt_client_tls", "runtime-pw-4");
    }
    PoolerTls.Material tls = PoolerTls.generate(List.of("localhost"), Instant.now());
    PgBouncerModel.Credentials creds = new PgBouncerModel.Credentials("rt_client_tls", "runtime-pw-4", "unused", "unused");
    Path dir = Files.createTempDirectory("pgbouncer");
    try (Running pgb = start(PgBouncerModel.render(cluster, creds, dir.toString(),
        new PgBouncerModel.Tls(Optional.empty(), Optional.of(tls))), dir)) {
      Properties verified = new Properties();
      verified.setProperty("sslmode", "verify-full");
      verified.setProperty("sslrootcert", DatabaseCa.file(tls.ca()).toString());
      assertEquals("rt_client_tls", pgb.query("rt_client_tls", "runtime-pw-4", "SELECT current_user", Duration.ofSeconds(20),
          "localhost", verified), "verified against the tenant's pooler CA");
      Properties plain = new Properties();
      plain.setProperty("sslmode", "disable");
      assertThrows(AssertionError.class, () -> pgb.query("rt_client_tls", "runtime-pw-4", "SELECT 1", Duration.ofSeconds(3),
          "localhost", plain), "PgBouncer requires TLS");
      Properties otherCa = new Properties();
      otherCa.setProperty("sslmode", "verify-full");
      otherCa.setProperty("sslrootcert",
          DatabaseCa.file(PoolerTls.generate(List.of("localhost"), Instant.now()).ca()).toString());
      assertThrows(AssertionError.class, () -> pgb.query("rt_client_tls", "runtime-pw-4", "SELECT 1", Duration.ofSeconds(3),
          "localhost", otherCa), "another tenant's CA does not verify it");
    }
  }

  /** A PgBouncer started on the rendered files in {@code dir}, on a free port. */
  record Running(Process process, int port, Path dir) implements AutoCloseable {
    String query(String user, String password, String sql) throws Exception {
      return query(user, password, sql, Duration.ofSeconds(20));
    }

    String query(String user, String password, String sql, Duration within) throws Exception {
      return query(user, password, sql, within, "127.0.0.1", new Properties());
    }

    String query(String user, String password, String sql, Duration within, String host, Properties extra)
        throws Exception {
      Properties props = new Properties();
      props.putAll(extra);
      props.setProperty("user", user);
      props.setProperty("password", password);
      props.setProperty("preferQueryMode", "simple");
      props.setProperty("loginTimeout", "3");
      String url = "jdbc:postgresql://" + host + ":" + port + "/postgres";
      return Await.until(within, "a query through pgbouncer (log: " + dir.resolve("log") + ")", () -> {
        if (!process.isAlive()) {
          throw new IllegalStateException("pgbouncer exited: " + read(dir.resolve("log")));
        }
        try (Connection c = DriverManager.getConnection(url, props);
            Statement st = c.createStatement();
            ResultSet rs = st.executeQuery(sql)) {
          rs.next();
          return rs.getString(1);
        } catch (SQLException e) {
          throw new IllegalStateException(e.getMessage() + " / " + read(dir.resolve("log")), e);
        }
      });
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      process.waitFor();
    }
  }

  static Running start(PgBouncerModel.Files files, Path dir) throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    // The rendered listen_port is the Service port; only the port differs on this machine.
    Files.writeString(dir.resolve("pgbouncer.ini"), files.ini().replace("listen_port = 5432", "listen_port = " + port));
    for (Map.Entry<String, String> f : files.asMap().entrySet()) {
      if (!f.getKey().equals("pgbouncer.ini")) {
        Files.writeString(dir.resolve(f.getKey()), f.getValue());
      }
    }
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    for (String f : files.asMap().keySet()) {
      Files.setPosixFilePermissions(dir.resolve(f), PosixFilePermissions.fromString("rw-r--r--"));
    }
    List<String> cmd = new ArrayList<>();
    if ("root".equals(System.getProperty("user.name"))) { // PgBouncer refuses to run as root
      cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    cmd.addAll(List.of(BINARY.toString(), dir.resolve("pgbouncer.ini").toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile()).start();
    return new Running(p, port, dir);
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return e.toString();
    }
  }
}
