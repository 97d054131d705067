package io.whatssound.realtime.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.model.PgBouncerModel;
import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseContract;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.postgres.PoolerAuth;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
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
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    // The rendered listen_port is the Service port; only the port differs on this machine.
    Files.writeString(dir.resolve("pgbouncer.ini"), files.ini().replace("listen_port = 5432", "listen_port = " + port));
    Files.writeString(dir.resolve("userlist.txt"), files.userlist());
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    for (String f : List.of("pgbouncer.ini", "userlist.txt")) {
      Files.setPosixFilePermissions(dir.resolve(f), PosixFilePermissions.fromString("rw-r--r--"));
    }
    List<String> cmd = new ArrayList<>();
    if ("root".equals(System.getProperty("user.name"))) { // PgBouncer refuses to run as root
      cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    cmd.addAll(List.of(BINARY.toString(), dir.resolve("pgbouncer.ini").toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile()).start();
    try {
      Properties props = new Properties();
      props.setProperty("user", role);
      props.setProperty("password", "runtime-pw-1");
      props.setProperty("preferQueryMode", "simple");
      String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
      String user = Await.until(Duration.ofSeconds(20), "a query through pgbouncer (log: " + dir.resolve("log") + ")", () -> {
        if (!p.isAlive()) {
          throw new IllegalStateException("pgbouncer exited: " + read(dir.resolve("log")));
        }
        try (Connection c = DriverManager.getConnection(url, props);
            Statement st = c.createStatement();
            ResultSet rs = st.executeQuery("SELECT current_user")) {
          rs.next();
          return rs.getString(1);
        } catch (SQLException e) {
          throw new IllegalStateException(e.getMessage() + " / " + read(dir.resolve("log")), e);
        }
      });
      assertEquals(role, user);
    } finally {
      p.destroy();
      p.waitFor();
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return e.toString();
    }
  }
}
