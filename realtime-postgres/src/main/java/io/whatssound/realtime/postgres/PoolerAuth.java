package io.whatssound.realtime.postgres;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * PgBouncer's {@code auth_query} support: a login role that may only call one SECURITY DEFINER function (with a
 * pinned {@code search_path}) returning the password verifier of one non-superuser role. The function reads
 * {@code pg_shadow}, so the owner running {@link #ensure} must be a superuser; runtimes never need it.
 *
 * <p>Run after {@link DatabaseContract#apply} (the function lives in the {@code realtime} schema).
 */
public final class PoolerAuth {
  /** The lookup function, schema-qualified. */
  public static final String FUNCTION = "realtime.pgbouncer_lookup";
  /** PgBouncer's {@code auth_query} setting for {@link #FUNCTION}. */
  public static final String AUTH_QUERY = "SELECT usename, passwd FROM " + FUNCTION + "($1)";

  private PoolerAuth() {}

  /** Creates or updates the auth role (login, password, no inheritance) and the lookup function it may call. */
  public static void ensure(Connection owner, String authRole, String password) throws SQLException {
    ContractSettings.requireIdentifier("pooler auth role", authRole);
    Sql.inTransaction(
        owner,
        () -> {
          Sql.lock(owner, DatabaseContract.CONTRACT_LOCK);
          Sql.ensureLoginRole(owner, authRole, "NOINHERIT", password);
          String r = Sql.ident(authRole);
          Sql.exec(owner, "CREATE OR REPLACE FUNCTION " + FUNCTION
              + "(p_usename text, OUT usename name, OUT passwd text) RETURNS record "
              + "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ "
              + "SELECT s.usename, s.passwd FROM pg_catalog.pg_shadow s WHERE s.usename = p_usename AND NOT s.usesuper $$");
          Sql.exec(owner, "REVOKE ALL ON FUNCTION " + FUNCTION + "(text) FROM PUBLIC");
          Sql.exec(owner, "GRANT USAGE ON SCHEMA realtime TO " + r);
          Sql.exec(owner, "GRANT EXECUTE ON FUNCTION " + FUNCTION + "(text) TO " + r);
          return null;
        });
  }

  /** Drops the lookup function and the auth role (with what was granted to it). */
  public static void drop(Connection owner, String authRole) throws SQLException {
    ContractSettings.requireIdentifier("pooler auth role", authRole);
    Sql.exec(owner, "DROP FUNCTION IF EXISTS " + FUNCTION + "(text)");
    if (Sql.exists(owner, "SELECT 1 FROM pg_roles WHERE rolname = ?", authRole)) {
      Sql.exec(owner, "DROP OWNED BY " + Sql.ident(authRole));
      Sql.exec(owner, "DROP ROLE " + Sql.ident(authRole));
    }
  }
}
