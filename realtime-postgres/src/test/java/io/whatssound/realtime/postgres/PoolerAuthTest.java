package io.whatssound.realtime.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** PgBouncer's auth_query function and role on a real PostgreSQL. */
class PoolerAuthTest {
  @RegisterExtension static final EmbeddedDatabaseExtension DB = new EmbeddedDatabaseExtension();
  Connection c;


  @BeforeEach
  void contract() throws Exception {
    c = DB.db().connect();
    DatabaseContract.apply(c, ContractSettings.defaults());
  }

  @AfterEach
  void close() throws Exception {
    c.close();
  }

  private String text(String sql, String arg) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  @Test
  void theLookupFunctionIsASecurityDefinerWithAPinnedSearchPathOnlyTheAuthRoleMayCall() throws Exception {
    PoolerAuth.ensure(c, "tenant_pgb", "auth-pw'1");
    PoolerAuth.ensure(c, "tenant_pgb", "auth-pw'1"); // idempotent
    try (Statement st = c.createStatement()) {
      st.execute("CREATE ROLE tenant_rt LOGIN PASSWORD 'rt-pw'");
    }
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT p.prosecdef, array_to_string(p.proconfig, ';') FROM pg_proc p "
            + "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'realtime' AND p.proname = 'pgbouncer_lookup'")) {
      assertTrue(rs.next());
      assertTrue(rs.getBoolean(1), "SECURITY DEFINER");
      assertEquals("search_path=pg_catalog, pg_temp", rs.getString(2));
    }
    assertEquals("true", text("SELECT has_function_privilege(?, 'realtime.pgbouncer_lookup(text)', 'EXECUTE')::text",
        "tenant_pgb"));
    assertEquals("false", text("SELECT has_function_privilege(?, 'realtime.pgbouncer_lookup(text)', 'EXECUTE')::text",
        "tenant_rt"), "PUBLIC may not call it");

    try (Connection auth = DriverManager.getConnection(DB.db().jdbcUrl(), "tenant_pgb", "auth-pw'1")) {
      try (PreparedStatement ps = auth.prepareStatement(PoolerAuth.AUTH_QUERY.replace("$1", "?"))) {
        ps.setString(1, "tenant_rt");
        try (ResultSet rs = ps.executeQuery()) {
          assertTrue(rs.next());
          assertEquals("tenant_rt", rs.getString(1));
          assertTrue(rs.getString(2).startsWith("SCRAM-SHA-256$"), "the verifier, never a plain password");
        }
        ps.setString(1, EmbeddedDatabase.USER);
        try (ResultSet rs = ps.executeQuery()) {
          assertTrue(rs.next());
          assertEquals(null, rs.getString(1), "superusers are never looked up");
        }
      }
      try (Statement st = auth.createStatement()) {
        assertThrows(SQLException.class, () -> st.executeQuery("SELECT passwd FROM pg_catalog.pg_shadow"));
      }
    }
  }

  @Test
  void dropRemovesTheFunctionAndTheRole() throws Exception {
    PoolerAuth.ensure(c, "gone_pgb", "pw");
    PoolerAuth.drop(c, "gone_pgb");
    PoolerAuth.drop(c, "gone_pgb");
    assertEquals(null, text("SELECT rolname FROM pg_roles WHERE rolname = ?", "gone_pgb"));
    assertEquals(null, text("SELECT proname::text FROM pg_proc WHERE proname = ?", "pgbouncer_lookup"));
  }

  @Test
  void roleNamesAreChecked() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> PoolerAuth.ensure(c, "Bad\"Role", "pw"));
    assertTrue(e.getMessage().contains("pooler auth role"));
    assertFalse(e.getMessage().contains("pw"));
  }
}
