package io.whatssound.realtime.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A database that serves TLS with a certificate of its own CA: a client given that CA ({@code DatabaseCa},
 * {@code sslrootcert}) connects with {@code verify-full}; one given another CA is refused. Certificates are made with
 * openssl for the test.
 */
class DatabaseTlsTest {
  @TempDir static Path dir;
  private static TlsDatabase tls;
  private static EmbeddedDatabase db;
  private static String ca;
  private static String otherCa;

  @BeforeAll
  static void start() throws Exception {
    tls = TlsDatabase.start(dir);
    db = tls.db();
    ca = tls.ca();
    otherCa = tls.otherCa();
  }

  @AfterAll
  static void stop() throws IOException {
    if (tls != null) {
      tls.close();
    }
  }

  private static DatabaseUrl url(String host) {
    return DatabaseUrl.parse("postgres://" + EmbeddedDatabase.USER + ":" + EmbeddedDatabase.PASSWORD + "@" + host + ":"
        + db.port() + "/postgres?sslmode=verify-full");
  }

  @Test
  void theTenantsCaVerifiesTheServerAndTheConnectionIsEncrypted() throws SQLException {
    DatabaseUrl u = url("localhost").withRootCert(DatabaseCa.file(ca));
    try (Connection c = DriverManager.getConnection(u.jdbcUrl(), u.properties());
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
      assertTrue(rs.next() && rs.getBoolean(1), "the session runs over TLS");
    }
  }

  @Test
  void anotherCaOrAnotherHostNameIsRefused() {
    DatabaseUrl wrongCa = url("localhost").withRootCert(DatabaseCa.file(otherCa));
    SQLException e = assertThrows(SQLException.class,
        () -> DriverManager.getConnection(wrongCa.jdbcUrl(), wrongCa.properties()).close());
    assertTrue(String.valueOf(e.getMessage()).toLowerCase().contains("ssl")
        || String.valueOf(e.getCause()).toLowerCase().contains("cert"), e.toString());
    DatabaseUrl wrongName = DatabaseUrl.parse("postgres://" + EmbeddedDatabase.USER + ":" + EmbeddedDatabase.PASSWORD
        + "@127.0.0.2:" + db.port() + "/postgres?sslmode=verify-full").withRootCert(DatabaseCa.file(ca));
    assertThrows(SQLException.class, () -> DriverManager.getConnection(wrongName.jdbcUrl(), wrongName.properties())
        .close(), "verify-full checks the name too");
  }

  @Test
  void aCaIsWrittenOncePerContentAndOnlyPemIsTaken() throws IOException {
    Path f = DatabaseCa.file(ca);
    assertEquals(f, DatabaseCa.file(ca));
    assertEquals(ca, Files.readString(f));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DatabaseCa.file("not a cert"));
    assertTrue(e.getMessage().contains("PEM"), e.getMessage());
  }
}
