package io.whatssound.realtime.postgres;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.zip.CRC32;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SQL the operator and the standalone runtime both run against a tenant's database: the
 * {@code realtime} schema and functions, the publications, the replication slot, the runtime's role.
 * Every method is idempotent and safe to run again at any time; two runners serialize on an advisory lock.
 */
public final class DatabaseContract {
  private static final Logger LOG = LoggerFactory.getLogger(DatabaseContract.class);
  /** Advisory lock key of contract changes ("realtime" in ASCII). */
  static final long CONTRACT_LOCK = 0x7265616c74696d65L;
  private static final String SCHEMA_SQL = load("schema.sql");

  private DatabaseContract() {}

  private static String load(String name) {
    try (InputStream in = DatabaseContract.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException(name + " is missing from the classpath");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Applies schema, functions and publications with the owner's connection. Does not create the slot
   * (see {@link #ensureSlot}) nor partitions (see {@link PartitionMaintainer}).
   */
  public static void apply(Connection owner, ContractSettings s) throws SQLException {
    Sql.inTransaction(
        owner,
        () -> {
          Sql.exec(owner, "SET LOCAL lock_timeout = '10s'");
          Sql.lock(owner, CONTRACT_LOCK);
          Sql.exec(owner, SCHEMA_SQL);
          ensurePublications(owner, s);
          return null;
        });
    LOG.info("Database contract applied (publication {}, slot {})", s.publication(), s.slot());
  }

  private static void ensurePublications(Connection c, ContractSettings s) throws SQLException {
    if (!publicationExists(c, ContractSettings.MESSAGES_PUBLICATION)) {
      Sql.exec(c, "CREATE PUBLICATION " + Sql.ident(ContractSettings.MESSAGES_PUBLICATION)
          + " FOR TABLE realtime.messages WITH (publish = 'insert', publish_via_partition_root = true)");
    }
    String pub = Sql.ident(s.publication());
    if (publicationExists(c, s.publication())
        && Sql.exists(c, "SELECT 1 FROM pg_publication WHERE pubname = ? AND puballtables <> ?", s.publication(),
            s.allTables())) {
      // FOR ALL TABLES cannot be altered either way: the publication is made again, in this transaction, so a
      // walsender streaming it sees the old one or the new one, never none
      Sql.exec(c, "DROP PUBLICATION " + pub);
      LOG.info("Publication {} made again {}", s.publication(), s.allTables() ? "for all tables" : "for listed tables");
    }
    if (!publicationExists(c, s.publication())) {
      Sql.exec(c, "CREATE PUBLICATION " + pub + (s.allTables() ? " FOR ALL TABLES" : ""));
    }
    // a partitioned table's changes carry the table's name, not its partition's, as subscribers name it
    if (Sql.exists(c, "SELECT 1 FROM pg_publication WHERE pubname = ? AND NOT pubviaroot", s.publication())) {
      Sql.exec(c, "ALTER PUBLICATION " + pub + " SET (publish_via_partition_root = true)");
    }
    if (s.tables().isPresent()) {
      List<String> tables = s.tables().get();
      if (tables.isEmpty()) {
        for (String t : publishedTables(c, s.publication())) {
          Sql.exec(c, "ALTER PUBLICATION " + pub + " DROP TABLE " + Sql.qualified(t));
        }
      } else {
        Sql.exec(c, "ALTER PUBLICATION " + pub + " SET TABLE "
            + tables.stream().map(Sql::qualified).collect(Collectors.joining(", ")));
      }
    }
  }

  public static boolean publicationExists(Connection c, String name) throws SQLException {
    return Sql.exists(c, "SELECT 1 FROM pg_publication WHERE pubname = ?", name);
  }

  /** The {@code schema.table} names a publication streams. */
  public static List<String> publishedTables(Connection c, String publication) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = ? ORDER BY 1, 2")) {
      ps.setString(1, publication);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1) + "." + rs.getString(2));
        }
      }
    }
    return out;
  }

  /**
   * Creates the tenant's pgoutput slot in this database unless it exists; needs a role with REPLICATION (or a
   * superuser). Slot names are server-wide: a slot of that name in another database is never used or touched.
   *
   * @throws ContractConflict when the name is taken by a slot of another database or another plugin
   */
  public static boolean ensureSlot(Connection c, String slot) throws SQLException {
    ContractSettings.requireIdentifier("slot", slot);
    try (PreparedStatement ps = c.prepareStatement("SELECT database, plugin, database = current_database() "
        + "FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          if (rs.getBoolean(3) && "pgoutput".equals(rs.getString(2))) {
            return false;
          }
          throw new ContractConflict("replication slot " + slot + " already exists for database "
              + rs.getString(1) + " (plugin " + rs.getString(2) + "); slot names are server-wide, so give this tenant "
              + "another slot name (RealtimeCluster spec.cdc.slot, REALTIME_SLOT)");
        }
      }
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_create_logical_replication_slot(?, 'pgoutput')")) {
      ps.setString(1, slot);
      ps.execute();
      LOG.info("Created logical replication slot {}", slot);
      return true;
    } catch (SQLException e) {
      if ("42710".equals(e.getSQLState())) { // created concurrently
        return false;
      }
      throw e;
    }
  }

  /** The slot's health, or empty when it does not exist. */
  public static Optional<SlotStatus> slotStatus(Connection c, String slot) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT active, active_pid, wal_status, "
                + "CASE WHEN pg_is_in_recovery() THEN NULL "
                + "ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint END, "
                + "confirmed_flush_lsn::text, "
                + "CASE WHEN pg_is_in_recovery() THEN NULL "
                + "ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint END FROM pg_replication_slots "
                + "WHERE slot_name = ? AND database = current_database()")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        boolean active = rs.getBoolean(1);
        int pid = rs.getInt(2);
        boolean pidKnown = !rs.wasNull();
        long lag = rs.getLong(4);
        boolean lagKnown = !rs.wasNull();
        long retained = rs.getLong(6);
        boolean retainedKnown = !rs.wasNull();
        return Optional.of(
            new SlotStatus(slot, active, pidKnown ? Optional.of(pid) : Optional.empty(),
                Optional.ofNullable(rs.getString(3)), lagKnown ? Optional.of(lag) : Optional.empty(),
                Optional.ofNullable(rs.getString(5)), retainedKnown ? Optional.of(retained) : Optional.empty()));
      }
    }
  }

  /** Ends the session holding the slot (if any) and drops it; a slot of that name in another database is left alone. */
  public static boolean dropSlot(Connection c, String slot) throws SQLException {
    ContractSettings.requireIdentifier("slot", slot);
    for (int attempt = 0; attempt < 5; attempt++) {
      Sql.exists(c, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
          + "WHERE slot_name = ? AND database = current_database() AND active_pid IS NOT NULL", slot);
      try (PreparedStatement ps = c.prepareStatement("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
          + "WHERE slot_name = ? AND database = current_database()")) {
        ps.setString(1, slot);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next();
        }
      } catch (SQLException e) {
        if (!"55006".equals(e.getSQLState())) { // still active: the holder is exiting
          throw e;
        }
        sleep(200);
      }
    }
    throw new SQLException("replication slot " + slot + " stays in use; stop the runtime pods holding it and retry", "55006");
  }

  /**
   * Claims this database for one tenant (the operator's {@code namespace/name}): the schema {@code realtime}, its
   * messages, the publications and the pooler's lookup function serve one tenant, so a second tenant on the same
   * database is refused rather than sharing them silently. Claiming again as the same tenant is harmless.
   *
   * @return the tenant holding the database: {@code tenant} itself, or the other one that claimed it first
   */
  public static String claim(Connection owner, String tenant) throws SQLException {
    Optional<String> held = holder(owner);
    if (held.isPresent()) {
      return held.get();
    }
    return Sql.inTransaction(owner, () -> {
      Sql.lock(owner, CONTRACT_LOCK);
      Sql.exec(owner, "CREATE SCHEMA IF NOT EXISTS realtime");
      Sql.exec(owner, "CREATE TABLE IF NOT EXISTS realtime.tenant (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
          + "tenant text NOT NULL, claimed_at timestamptz NOT NULL DEFAULT now())");
      Sql.exec(owner, "COMMENT ON TABLE realtime.tenant IS 'The one tenant this database serves (set by the realtime "
          + "operator; delete the row to release the database)'");
      try (PreparedStatement ps = owner.prepareStatement(
          "INSERT INTO realtime.tenant (tenant) VALUES (?) ON CONFLICT (one) DO NOTHING")) {
        ps.setString(1, tenant);
        ps.executeUpdate();
      }
      return holder(owner).orElse(tenant);
    });
  }

  /** The tenant that claimed this database, if any. */
  public static Optional<String> holder(Connection c) throws SQLException {
    if (!Sql.exists(c, "SELECT 1 FROM pg_tables WHERE schemaname = 'realtime' AND tablename = 'tenant'")) {
      return Optional.empty();
    }
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT tenant FROM realtime.tenant")) {
      return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
    }
  }

  /** Gives the database up, when {@code tenant} holds it. */
  public static void release(Connection owner, String tenant) throws SQLException {
    if (holder(owner).filter(tenant::equals).isPresent()) {
      try (PreparedStatement ps = owner.prepareStatement("DELETE FROM realtime.tenant WHERE tenant = ?")) {
        ps.setString(1, tenant);
        ps.executeUpdate();
      }
    }
  }

  /** Drops the publications this contract created. Never touches user tables. */
  public static void dropPublications(Connection c, ContractSettings s) throws SQLException {
    Sql.exec(c, "DROP PUBLICATION IF EXISTS " + Sql.ident(s.publication()));
    Sql.exec(c, "DROP PUBLICATION IF EXISTS " + Sql.ident(ContractSettings.MESSAGES_PUBLICATION));
  }

  /**
   * Creates or updates the runtime's least-privilege role: it may log in, stream the slot
   * (REPLICATION), read and write {@code realtime.messages} and call the send functions; it owns nothing.
   */
  public static void ensureRuntimeRole(Connection owner, String role, String password) throws SQLException {
    ContractSettings.requireIdentifier("runtime role", role);
    Sql.inTransaction(
        owner,
        () -> {
          Sql.lock(owner, CONTRACT_LOCK);
          Sql.ensureLoginRole(owner, role, "REPLICATION", password);
          String r = Sql.ident(role);
          Sql.exec(owner, "GRANT USAGE ON SCHEMA realtime TO " + r);
          Sql.exec(owner, "GRANT SELECT, INSERT ON realtime.messages TO " + r);
          Sql.exec(owner, "GRANT EXECUTE ON FUNCTION realtime.send(jsonb, text, text, boolean), "
              + "realtime.send_binary(bytea, text, text, boolean), realtime.topic() TO " + r);
          if (!Sql.exists(owner, "SELECT 1 FROM pg_policies WHERE schemaname = 'realtime' AND tablename = 'messages' "
              + "AND policyname = ?", policyName("runtime_reads", role))) {
            Sql.exec(owner, "CREATE POLICY " + Sql.ident(policyName("runtime_reads", role)) + " ON realtime.messages FOR SELECT TO "
                + r + " USING (true)");
          }
          if (!Sql.exists(owner, "SELECT 1 FROM pg_policies WHERE schemaname = 'realtime' AND tablename = 'messages' "
              + "AND policyname = ?", policyName("runtime_writes", role))) {
            Sql.exec(owner, "CREATE POLICY " + Sql.ident(policyName("runtime_writes", role)) + " ON realtime.messages FOR INSERT TO "
                + r + " WITH CHECK (true)");
          }
          // authorization checks run as the client's role (SET ROLE), never as anything else
          Sql.exec(owner, "GRANT anon, authenticated, service_role TO " + r);
          return null;
        });
    LOG.info("Runtime role {} is ready", role);
  }

  /**
   * The name of one of a runtime role's policies on {@code realtime.messages}: {@code <kind>_<role>}, or, where that
   * passes PostgreSQL's 63 bytes (which would cut it, so that it no longer matches what is looked up), the role cut
   * short with 8 hex digits of its CRC-32.
   */
  static String policyName(String kind, String role) {
    String name = kind + "_" + role;
    if (name.length() <= 63) {
      return name;
    }
    CRC32 crc = new CRC32();
    crc.update(role.getBytes(StandardCharsets.UTF_8));
    return name.substring(0, 63 - 9) + "_" + String.format("%08x", crc.getValue());
  }

  /** Drops the runtime role and what was granted to it. */
  public static void dropRuntimeRole(Connection owner, String role) throws SQLException {
    ContractSettings.requireIdentifier("runtime role", role);
    if (!Sql.exists(owner, "SELECT 1 FROM pg_roles WHERE rolname = ?", role)) {
      return;
    }
    Sql.exists(owner, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ?", role);
    Sql.exec(owner, "DROP POLICY IF EXISTS " + Sql.ident(policyName("runtime_reads", role)) + " ON realtime.messages");
    Sql.exec(owner, "DROP POLICY IF EXISTS " + Sql.ident(policyName("runtime_writes", role)) + " ON realtime.messages");
    Sql.exec(owner, "DROP OWNED BY " + Sql.ident(role));
    Sql.exec(owner, "DROP ROLE " + Sql.ident(role));
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
