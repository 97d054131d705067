package io.whatssound.realtime.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the daily partitions of {@code realtime.messages} rolling: from yesterday through today plus
 * {@code premakeDays} they exist; partitions whose whole day ended more than {@code retention} ago are
 * dropped, except the newest. Only partitions named {@code messages_YYYY_MM_DD} are ever dropped.
 *
 * <p>Creating takes one short transaction under an advisory lock (a second maintainer skips) and a
 * {@code lock_timeout}. Dropping never blocks the tenant's writes: each expired partition is first detached
 * {@code CONCURRENTLY} (which waits for readers instead of locking writers out), then dropped; a detach that was
 * interrupted is finished ({@code FINALIZE}) on the next run. Each maintainer runs daily just after midnight UTC plus
 * a jitter of its own, so the tenants of one server do not all detach at the same second.
 */
public final class PartitionMaintainer {
  private static final Logger LOG = LoggerFactory.getLogger(PartitionMaintainer.class);
  static final long PARTITION_LOCK = DatabaseContract.CONTRACT_LOCK + 1;
  private static final DateTimeFormatter SUFFIX = DateTimeFormatter.ofPattern("yyyy_MM_dd");
  private static final String PREFIX = "messages_";
  /** The daily runs of a server's tenants spread over this much time after midnight. */
  static final int JITTER_SECONDS = 900;

  private final Clock clock;
  private final int jitterSeconds;

  /** A maintainer that runs right after midnight (tests, one tenant alone). */
  public PartitionMaintainer(Clock clock) {
    this(clock, 0);
  }

  /** A maintainer whose daily run is offset by a jitter derived from {@code tenant} (e.g. its slot). */
  public PartitionMaintainer(Clock clock, String tenant) {
    this(clock, Math.floorMod(tenant.hashCode(), JITTER_SECONDS));
  }

  private PartitionMaintainer(Clock clock, int jitterSeconds) {
    this.clock = clock;
    this.jitterSeconds = jitterSeconds;
  }


  /** The outcome of one maintenance run. {@code skipped} means another runner held the lock. */
  public record Report(
      boolean skipped, List<String> created, List<String> dropped, Optional<LocalDate> oldest,
      Optional<LocalDate> newest, int count) {}

  public static String partitionName(LocalDate day) {
    return PREFIX + SUFFIX.format(day);
  }

  /** Creates missing partitions and drops expired ones; returns what exists afterwards. */
  public Report maintain(Connection c, ContractSettings s) throws SQLException {
    Plan plan = Sql.inTransaction(c, () -> plan(c, s));
    if (plan.skipped()) {
      return report(true, List.of(), List.of(), plan.existing());
    }
    TreeMap<LocalDate, String> existing = plan.existing();
    List<String> dropped = new ArrayList<>();
    boolean auto = c.getAutoCommit();
    c.setAutoCommit(true); // a concurrent detach runs outside any transaction block
    try {
      drop(c, plan, existing, dropped);
    } finally {
      c.setAutoCommit(auto);
    }
    if (!plan.created().isEmpty() || !dropped.isEmpty()) {
      LOG.info("realtime.messages partitions: created {}, dropped {}", plan.created(), dropped);
    }
    return report(false, plan.created(), dropped, existing);
  }

  /** Detaches concurrently (or finishes a detach cut short), then drops, each expired partition. */
  private static void drop(Connection c, Plan plan, TreeMap<LocalDate, String> existing, List<String> dropped) {
    for (var e : plan.expired().entrySet()) {
      try {
        detachAndDrop(c, "realtime", "messages", e.getValue(), plan.pending().contains(e.getValue()), true);
        existing.remove(e.getKey());
        dropped.add(e.getValue());
      } catch (SQLException ex) {
        // left for the next run: a detach cut short is finished then
        LOG.warn("Could not drop partition realtime.{} ({}); the next run tries again", e.getValue(), ex.getMessage());
      }
    }
  }

  /**
   * Detaches {@code schema.partition} from {@code schema.parent} and drops it; the connection must be in autocommit.
   * {@code concurrently}: without locking the parent's writers out (not possible beside a default partition), and
   * {@code pending}: a concurrent detach was cut short and is finished instead.
   */
  static void detachAndDrop(Connection c, String schema, String parent, String partition, boolean pending,
      boolean concurrently) throws SQLException {
    String parentName = Sql.ident(schema) + "." + Sql.ident(parent);
    String part = Sql.ident(schema) + "." + Sql.ident(partition);
    if (pending) {
      Sql.exec(c, "ALTER TABLE " + parentName + " DETACH PARTITION " + part + " FINALIZE");
    } else if (concurrently) {
      Sql.exec(c, "ALTER TABLE " + parentName + " DETACH PARTITION " + part + " CONCURRENTLY");
    } else {
      Sql.inTransaction(c, () -> {
        Sql.exec(c, "SET LOCAL lock_timeout = '2s'");
        Sql.exec(c, "ALTER TABLE " + parentName + " DETACH PARTITION " + part);
        return null;
      });
    }
    Sql.inTransaction(c, () -> {
      Sql.exec(c, "SET LOCAL lock_timeout = '2s'");
      Sql.exec(c, "DROP TABLE IF EXISTS " + part);
      return null;
    });
  }

  /** What one run found and made: partitions by day, those it created, those to drop, and detaches left pending. */
  private record Plan(boolean skipped, TreeMap<LocalDate, String> existing, List<String> created,
      TreeMap<LocalDate, String> expired, List<String> pending) {}

  /** In one transaction: the advisory lock, the missing partitions created, the expired ones chosen. */
  private Plan plan(Connection c, ContractSettings s) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_xact_lock(?)")) {
      ps.setLong(1, PARTITION_LOCK);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        if (!rs.getBoolean(1)) {
          return new Plan(true, partitions(c), List.of(), new TreeMap<>(), List.of());
        }
      }
    }
    Sql.exec(c, "SET LOCAL lock_timeout = '2s'");
    Instant now = clock.instant();
    LocalDate today = LocalDate.ofInstant(now, ZoneOffset.UTC);
    TreeMap<LocalDate, String> existing = partitions(c);
    List<String> created = new ArrayList<>();
    for (LocalDate d = today.minusDays(1); !d.isAfter(today.plusDays(s.premakeDays())); d = d.plusDays(1)) {
      if (!existing.containsKey(d)) {
        try (PreparedStatement ps = c.prepareStatement("SELECT realtime.ensure_partition(?)")) {
          ps.setObject(1, d);
          ps.execute();
        }
        existing.put(d, partitionName(d));
        created.add(partitionName(d));
      }
    }
    List<String> pending = detachPending(c, "realtime.messages");
    TreeMap<LocalDate, String> expired = new TreeMap<>();
    Instant cutoff = now.minus(s.retention());
    LocalDate newest = existing.isEmpty() ? null : existing.lastKey();
    for (var e : existing.entrySet()) {
      Instant dayEnd = e.getKey().plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC);
      if ((!dayEnd.isAfter(cutoff) && !e.getKey().equals(newest)) || pending.contains(e.getValue())) {
        expired.put(e.getKey(), e.getValue());
      }
    }
    return new Plan(false, existing, created, expired, pending);
  }

  /** Partitions of {@code parent} (schema-qualified) whose concurrent detach was cut short: still attached until finished. */
  static List<String> detachPending(Connection c, String parent) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(
            "SELECT child.relname FROM pg_inherits i JOIN pg_class child ON child.oid = i.inhrelid "
                + "WHERE i.inhparent = ?::regclass AND i.inhdetachpending")) {
      ps.setString(1, parent);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return out;
  }

  private static Report report(
      boolean skipped, List<String> created, List<String> dropped, TreeMap<LocalDate, String> existing) {
    return new Report(
        skipped, List.copyOf(created), List.copyOf(dropped),
        existing.isEmpty() ? Optional.empty() : Optional.of(existing.firstKey()),
        existing.isEmpty() ? Optional.empty() : Optional.of(existing.lastKey()), existing.size());
  }

  /** Our partitions (by name pattern) attached to realtime.messages, by day. */
  static TreeMap<LocalDate, String> partitions(Connection c) throws SQLException {
    TreeMap<LocalDate, String> out = new TreeMap<>();
    try (PreparedStatement ps =
            c.prepareStatement(
                "SELECT child.relname FROM pg_inherits i "
                    + "JOIN pg_class child ON child.oid = i.inhrelid "
                    + "JOIN pg_class parent ON parent.oid = i.inhparent "
                    + "JOIN pg_namespace n ON n.oid = parent.relnamespace "
                    + "WHERE n.nspname = 'realtime' AND parent.relname = 'messages'");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        String name = rs.getString(1);
        day(name).ifPresent(d -> out.put(d, name));
      }
    }
    return out;
  }

  static Optional<LocalDate> day(String partition) {
    if (!partition.startsWith(PREFIX) || partition.length() != PREFIX.length() + 10) {
      return Optional.empty();
    }
    try {
      return Optional.of(LocalDate.parse(partition.substring(PREFIX.length()), SUFFIX));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  /** When the next run is due: just after the next UTC day boundary, plus this maintainer's jitter. */
  public Instant nextRun() {
    return LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC).plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC)
        .plusSeconds(5 + jitterSeconds);
  }
}
