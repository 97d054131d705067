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
 * Two maintainers never collide (advisory lock) and never wait long for a table lock ({@code lock_timeout}).
 */
public final class PartitionMaintainer {
  private static final Logger LOG = LoggerFactory.getLogger(PartitionMaintainer.class);
  static final long PARTITION_LOCK = DatabaseContract.CONTRACT_LOCK + 1;
  private static final DateTimeFormatter SUFFIX = DateTimeFormatter.ofPattern("yyyy_MM_dd");
  private static final String PREFIX = "messages_";

  private final Clock clock;

  public PartitionMaintainer(Clock clock) {
    this.clock = clock;
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
    return Sql.inTransaction(
        c,
        () -> {
          try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_xact_lock(?)")) {
            ps.setLong(1, PARTITION_LOCK);
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              if (!rs.getBoolean(1)) {
                TreeMap<LocalDate, String> now = partitions(c);
                return report(true, List.of(), List.of(), now);
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
          List<String> dropped = new ArrayList<>();
          Instant cutoff = now.minus(s.retention());
          LocalDate newest = existing.isEmpty() ? null : existing.lastKey();
          for (var e : new ArrayList<>(existing.entrySet())) {
            Instant dayEnd = e.getKey().plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC);
            if (!dayEnd.isAfter(cutoff) && !e.getKey().equals(newest)) {
              Sql.exec(c, "DROP TABLE IF EXISTS realtime." + Sql.ident(e.getValue()));
              existing.remove(e.getKey());
              dropped.add(e.getValue());
            }
          }
          if (!created.isEmpty() || !dropped.isEmpty()) {
            LOG.info("realtime.messages partitions: created {}, dropped {}", created, dropped);
          }
          return report(false, created, dropped, existing);
        });
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

  /** When the next run is due: just after the next UTC day boundary. */
  public Instant nextRun() {
    return LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC).plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC)
        .plusSeconds(5);
  }
}
