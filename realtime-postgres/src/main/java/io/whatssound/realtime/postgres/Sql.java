package io.whatssound.realtime.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.postgresql.util.PasswordUtil;

/** Small JDBC helpers: quoting and one-liners. */
final class Sql {
  private Sql() {}

  /** A double-quoted identifier. */
  static String ident(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  /** {@code schema.table} as a quoted, qualified name. */
  static String qualified(String schemaDotTable) {
    int dot = schemaDotTable.indexOf('.');
    if (dot <= 0 || dot == schemaDotTable.length() - 1) {
      throw new IllegalArgumentException("table must be written schema.table, got '" + schemaDotTable + "'");
    }
    return ident(schemaDotTable.substring(0, dot)) + "." + ident(schemaDotTable.substring(dot + 1));
  }

  static void exec(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  static boolean exists(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /** Runs {@code work} in one transaction, restoring auto-commit afterwards. */
  static <T> T inTransaction(Connection c, SqlWork<T> work) throws SQLException {
    boolean auto = c.getAutoCommit();
    c.setAutoCommit(false);
    try {
      T result = work.run();
      c.commit();
      return result;
    } catch (SQLException | RuntimeException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(auto);
    }
  }

  /** Takes a transaction-scoped advisory lock, so concurrent provisioning of one database takes turns. */
  static void lock(Connection c, long key) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
      ps.setLong(1, key);
      ps.execute();
    }
  }

  /**
   * Creates a login role if missing and sets its password, with {@code attributes} (e.g. {@code REPLICATION},
   * {@code NOINHERIT}) on creation and on every update. The password is sent as its SCRAM-SHA-256 verifier, made
   * here, so neither the driver's nor the server's statement log ever holds it.
   */
  static void ensureLoginRole(Connection c, String role, String attributes, String password) throws SQLException {
    if (!exists(c, "SELECT 1 FROM pg_roles WHERE rolname = ?", role)) {
      exec(c, "CREATE ROLE " + ident(role) + " LOGIN " + attributes);
    }
    // Hashed here (SCRAM-SHA-256, as the server would store it): the statement, which the server may log
    // (log_statement = ddl or all), never holds the password itself.
    String verifier = PasswordUtil.encodeScramSha256(password.toCharArray());
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT format('ALTER ROLE %I WITH LOGIN " + attributes + " PASSWORD %L', ?::text, ?::text)")) {
      ps.setString(1, role);
      ps.setString(2, verifier);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        exec(c, rs.getString(1));
      }
    }
  }

  @FunctionalInterface
  interface SqlWork<T> {
    T run() throws SQLException;
  }
}
