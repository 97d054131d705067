package io.whatssound.realtime.runtime;

import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseContract;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/** The database side of tests that stream changes: the contract with its slot, and tables in its publication. */
public final class TestTables {
  private TestTables() {}

  /** Applies the database contract with the default settings and creates its replication slot. */
  public static void contractWithSlot(Connection c) throws SQLException {
    DatabaseContract.apply(c, ContractSettings.defaults());
    DatabaseContract.ensureSlot(c, ContractSettings.DEFAULT_SLOT);
  }

  /**
   * {@code CREATE TABLE public.<table> (<columns>)}, added to the contract's publication and readable by the roles of
   * Supabase tokens (anon, authenticated, service_role).
   */
  public static void published(Connection c, String table, String columns) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("CREATE TABLE public." + table + " (" + columns + ")");
      s.execute("ALTER PUBLICATION " + ContractSettings.DEFAULT_PUBLICATION + " ADD TABLE public." + table);
      s.execute("GRANT SELECT ON public." + table + " TO anon, authenticated, service_role");
    }
  }
}
