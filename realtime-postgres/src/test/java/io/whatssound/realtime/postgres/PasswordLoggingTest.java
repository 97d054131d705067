package io.whatssound.realtime.postgres;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.Properties;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Provisioning a login role never puts its password in the server's log, even with {@code log_statement = all}: the
 * statement carries the SCRAM-SHA-256 verifier made on the client, and the role still logs in with the password.
 */
class PasswordLoggingTest {
  static final String PASSWORD = "never-in-the-log-4c1d9e";

  @Test
  void aRolesPasswordIsNotInAnAllStatementsLog() throws Exception {
    Path logs = Files.createTempDirectory("pglog");
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder()
        .setServerConfig("logging_collector", "on")
        .setServerConfig("log_directory", logs.toString())
        .setServerConfig("log_statement", "all")
        .start()) {
      try (Connection c = pg.getPostgresDatabase().getConnection()) {
        DatabaseContract.apply(c, ContractSettings.defaults());
        DatabaseContract.ensureRuntimeRole(c, "realtime_logged", PASSWORD);
        PoolerAuth.ensure(c, "realtime_logged_pgb", PASSWORD);
      }
      Properties p = new Properties();
      p.setProperty("user", "realtime_logged");
      p.setProperty("password", PASSWORD);
      try (Connection rc = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/postgres", p)) {
        assertTrue(rc.isValid(2), "the role logs in with its password");
      }
      String log = awaitLog(logs, "ALTER ROLE realtime_logged_pgb");
      assertTrue(log.contains("SCRAM-SHA-256$"), "the statement carries the verifier");
      assertFalse(log.contains(PASSWORD), "the password is in the server log");
    }
  }

  /** The server's log once it holds {@code needle} (the logging collector writes a moment later). */
  static String awaitLog(Path dir, String needle) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + 20_000_000_000L;
    String text = "";
    while (System.nanoTime() < deadline) {
      try (Stream<Path> files = Files.list(dir)) {
        text = files.map(PasswordLoggingTest::read).collect(Collectors.joining("\n"));
      }
      if (text.contains(needle)) {
        return text;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the server log never showed " + needle + ":\n" + text);
  }

  static String read(Path f) {
    try {
      return Files.readString(f);
    } catch (IOException e) {
      return "";
    }
  }
}
