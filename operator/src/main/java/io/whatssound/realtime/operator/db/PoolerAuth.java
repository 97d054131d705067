package io.whatssound.realtime.operator.db;

import io.whatssound.realtime.operator.model.PgBouncerModel;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * PgBouncer's auth_query support: a login role that may only call one SECURITY DEFINER function (pinned
 * search_path) returning the password verifier of one non-superuser role.
 *
 * <p>This SQL belongs in the database contract module (realtime-postgres); it lives here until it moves there.
 */
public final class PoolerAuth {
  private PoolerAuth() {}

  public static void ensure(Connection owner, String authRole, String password) throws SQLException {
    boolean auto = owner.getAutoCommit();
    owner.setAutoCommit(false);
    try (Statement st = owner.createStatement()) {
      if (!exists(owner, authRole)) {
        st.execute("CREATE ROLE " + ident(authRole) + " LOGIN NOINHERIT");
      }
      try (PreparedStatement ps =
          owner.prepareStatement("SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', ?::text, ?::text)")) {
        ps.setString(1, authRole);
        ps.setString(2, password);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          st.execute(rs.getString(1));
        }
      }
      st.execute("CREATE OR REPLACE FUNCTION " + PgBouncerModel.AUTH_FUNCTION
          + "(p_usename text, OUT usename name, OUT passwd text) RETURNS record "
          + "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ "
          + "SELECT s.usename, s.passwd FROM pg_catalog.pg_shadow s WHERE s.usename = p_usename AND NOT s.usesuper $$");
      st.execute("REVOKE ALL ON FUNCTION " + PgBouncerModel.AUTH_FUNCTION + "(text) FROM PUBLIC");
      st.execute("GRANT USAGE ON SCHEMA realtime TO " + ident(authRole));
      st.execute("GRANT EXECUTE ON FUNCTION " + PgBouncerModel.AUTH_FUNCTION + "(text) TO " + ident(authRole));
      owner.commit();
    } catch (SQLException | RuntimeException e) {
      owner.rollback();
      throw e;
    } finally {
      owner.setAutoCommit(auto);
    }
  }

  public static void drop(Connection owner, String authRole) throws SQLException {
    try (Statement st = owner.createStatement()) {
      st.execute("DROP FUNCTION IF EXISTS " + PgBouncerModel.AUTH_FUNCTION + "(text)");
      if (exists(owner, authRole)) {
        st.execute("DROP OWNED BY " + ident(authRole));
        st.execute("DROP ROLE " + ident(authRole));
      }
    }
  }

  private static boolean exists(Connection c, String role) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_roles WHERE rolname = ?")) {
      ps.setString(1, role);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static String ident(String s) {
    return "\"" + s.replace("\"", "\"\"") + "\"";
  }
}
