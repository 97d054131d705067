package io.whatssound.realtime.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Range partitions of an application's own tables, declared per tenant (what pg_partman does, without an extension):
 * a table the user created {@code PARTITION BY RANGE (column)} on a {@code timestamptz}, {@code timestamp} or
 * {@code date} column gets one partition per day or month (UTC), from the previous period through {@code premake}
 * periods ahead; partitions older than {@code retention} periods before the current one are detached concurrently
 * and dropped. Only partitions named {@code <table>_pYYYY_MM[_DD]} are ever dropped.
 *
 * <p>A table that is missing, not partitioned, or partitioned by something else is reported, never changed.
 */
public final class AppPartitions {
  private static final Logger LOG = LoggerFactory.getLogger(AppPartitions.class);
  private static final Set<String> KEY_TYPES = Set.of("timestamp with time zone", "timestamp without time zone", "date");
  /** Room left in PostgreSQL's 63-byte names for the partition suffix {@code _pYYYY_MM_DD}. */
  static final int MAX_TABLE_NAME = 63 - 12;

  /** How long one partition spans. */
  public enum Interval {
    DAILY("yyyy_MM_dd"), MONTHLY("yyyy_MM");

    private final DateTimeFormatter suffix;

    Interval(String pattern) {
      this.suffix = DateTimeFormatter.ofPattern(pattern);
    }

    public static Interval parse(String s) {
      return valueOf(s.toUpperCase(Locale.ROOT));
    }

    LocalDate start(LocalDate day) {
      return this == DAILY ? day : day.withDayOfMonth(1);
    }

    LocalDate plus(LocalDate start, long n) {
      return this == DAILY ? start.plusDays(n) : start.plusMonths(n);
    }

    String name(String table, LocalDate start) {
      return table + "_p" + suffix.format(start);
    }

    Optional<LocalDate> parseName(String table, String partition) {
      String prefix = table + "_p";
      if (!partition.startsWith(prefix)) {
        return Optional.empty();
      }
      String rest = partition.substring(prefix.length());
      try {
        return Optional.of(this == DAILY ? LocalDate.parse(rest, suffix)
            : LocalDate.parse(rest + "_01", DateTimeFormatter.ofPattern("yyyy_MM_dd")));
      } catch (DateTimeParseException e) {
        return Optional.empty();
      }
    }
  }

  /**
   * One declared table.
   *
   * @param schema    its schema ({@code public} when the declaration names none)
   * @param name      the table
   * @param column    the range key the table must be partitioned by
   * @param interval  a partition per day or per month
   * @param premake   periods made ahead of the current one
   * @param retention whole periods kept before the current one; empty: nothing is dropped
   */
  public record Table(String schema, String name, String column, Interval interval, int premake,
      Optional<Integer> retention) {

    /** {@code schema.table} or {@code table}. */
    public static Table of(String qualified, String column, Interval interval, int premake,
        Optional<Integer> retention) {
      int dot = qualified.indexOf('.');
      return new Table(dot < 0 ? "public" : qualified.substring(0, dot), dot < 0 ? qualified : qualified.substring(dot + 1),
          column, interval, premake, retention);
    }

    public String qualified() {
      return schema + "." + name;
    }
  }

  /**
   * What one run found.
   *
   * @param ready   partitions cover now through the premade periods
   * @param reason  a condition reason: {@code Rolling}, {@code TableMissing}, {@code NotPartitioned},
   *                {@code WrongKey}, {@code InvalidName}
   * @param message what is wrong and what to do, or what exists
   */
  public record Result(Table table, boolean ready, String reason, String message, List<String> created,
      List<String> dropped, Optional<LocalDate> oldest, Optional<LocalDate> newest, int count) {

    static Result refused(Table t, String reason, String message) {
      return new Result(t, false, reason, message, List.of(), List.of(), Optional.empty(), Optional.empty(), 0);
    }
  }

  private final Clock clock;

  public AppPartitions(Clock clock) {
    this.clock = clock;
  }

  /** Checks the table, creates missing partitions and drops expired ones. SQL errors other than refusals propagate. */
  public Result maintain(Connection c, Table t) throws SQLException {
    if (t.name().length() > MAX_TABLE_NAME || !t.name().matches("[a-z_][a-z0-9_]*")
        || !t.schema().matches("[a-z_][a-z0-9_]*")) {
      return Result.refused(t, "InvalidName", "table " + t.qualified() + ": partitioned tables must have lower-case "
          + "names of at most " + MAX_TABLE_NAME + " characters, so that partition names fit PostgreSQL's 63");
    }
    Checked checked = check(c, t);
    if (checked.refusal().isPresent()) {
      return checked.refusal().get();
    }
    String keyType = checked.keyType();
    LocalDate today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    LocalDate current = t.interval().start(today);
    boolean auto = c.getAutoCommit();
    c.setAutoCommit(true);
    try {
      TreeMap<LocalDate, String> existing = partitions(c, t);
      List<String> created = new ArrayList<>();
      // periods in a partition of the user's own (a yearly one, say) count as covered
      Set<LocalDate> covered = new HashSet<>(existing.keySet());
      for (long i = -1; i <= t.premake(); i++) {
        LocalDate start = t.interval().plus(current, i);
        if (!existing.containsKey(start)) {
          if (create(c, t, start, keyType)) {
            existing.put(start, t.interval().name(t.name(), start));
            created.add(t.interval().name(t.name(), start));
          }
          covered.add(start);
        }
      }
      List<String> dropped = new ArrayList<>();
      if (t.retention().isPresent()) {
        LocalDate keepFrom = t.interval().plus(current, -t.retention().get());
        List<String> pending = PartitionMaintainer.detachPending(c, t.qualified());
        boolean hasDefault = Sql.exists(c, "SELECT 1 FROM pg_partitioned_table WHERE partrelid = ?::regclass "
            + "AND partdefid <> 0", t.qualified());
        for (var e : new TreeMap<>(existing.headMap(keepFrom)).entrySet()) {
          try {
            PartitionMaintainer.detachAndDrop(c, t.schema(), t.name(), e.getValue(), pending.contains(e.getValue()),
                !hasDefault);
            existing.remove(e.getKey());
            dropped.add(e.getValue());
          } catch (SQLException ex) {
            LOG.warn("Could not drop partition {}.{} ({}); the next run tries again", t.schema(), e.getValue(),
                ex.getMessage());
          }
        }
      }
      if (!created.isEmpty() || !dropped.isEmpty()) {
        LOG.info("{} partitions: created {}, dropped {}", t.qualified(), created, dropped);
      }
      LocalDate last = t.interval().plus(current, t.premake());
      boolean ready = covered.contains(current) && covered.contains(last);
      String what = t.interval() == Interval.DAILY ? "daily" : "monthly";
      return new Result(t, ready, ready ? "Rolling" : "PartitionsMissing",
          ready ? existing.size() + " " + what + " partitions" + (existing.isEmpty() ? ""
              : " from " + existing.firstKey() + " to " + existing.lastKey())
              : "partitions of " + t.qualified() + " up to " + last + " could not all be created; retried",
          List.copyOf(created), List.copyOf(dropped),
          existing.isEmpty() ? Optional.empty() : Optional.of(existing.firstKey()),
          existing.isEmpty() ? Optional.empty() : Optional.of(existing.lastKey()), existing.size());
    } finally {
      c.setAutoCommit(auto);
    }
  }

  /** A reason not to touch the table, or the type of its range key. */
  private record Checked(Optional<Result> refusal, String keyType) {
    static Checked refused(Result r) {
      return new Checked(Optional.of(r), null);
    }
  }

  private static Checked check(Connection c, Table t) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT p.partstrat, p.partnatts, a.attname FROM pg_class cl "
            + "JOIN pg_namespace n ON n.oid = cl.relnamespace "
            + "LEFT JOIN pg_partitioned_table p ON p.partrelid = cl.oid "
            + "LEFT JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum = p.partattrs[0] "
            + "WHERE n.nspname = ? AND cl.relname = ? AND cl.relkind IN ('r', 'p')")) {
      ps.setString(1, t.schema());
      ps.setString(2, t.name());
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Checked.refused(Result.refused(t, "TableMissing", "table " + t.qualified() + " does not exist: create it "
              + "PARTITION BY RANGE (" + t.column() + ")"));
        }
        String strategy = rs.getString(1);
        if (strategy == null) {
          return Checked.refused(Result.refused(t, "NotPartitioned", "table " + t.qualified() + " is not partitioned: "
              + "create it PARTITION BY RANGE (" + t.column() + ") (an existing table has to be recreated and its "
              + "rows copied)"));
        }
        if (!"r".equals(strategy) || rs.getInt(2) != 1 || !t.column().equals(rs.getString(3))) {
          return Checked.refused(Result.refused(t, "WrongKey", "table " + t.qualified() + " is not partitioned BY RANGE ("
              + t.column() + ") alone, as partitions.tables declares; change the declaration or the table"));
        }
      }
    }
    String type = keyType(c, t);
    if (!KEY_TYPES.contains(type)) {
      return Checked.refused(Result.refused(t, "WrongKey", "column " + t.column() + " of " + t.qualified() + " is " + type
          + "; daily and monthly partitions need timestamptz, timestamp or date"));
    }
    return new Checked(Optional.empty(), type);
  }

  private static String keyType(Connection c, Table t) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT format_type(a.atttypid, NULL) FROM pg_attribute a WHERE a.attrelid = ?::regclass AND a.attname = ?")) {
      ps.setString(1, t.qualified());
      ps.setString(2, t.column());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : "missing";
      }
    }
  }

  /**
   * Creates one period's partition on its own and attaches it (a SHARE UPDATE EXCLUSIVE lock on the table, not the
   * ACCESS EXCLUSIVE of {@code CREATE TABLE ... PARTITION OF}). A range another partition already covers is left alone.
   */
  private static boolean create(Connection c, Table t, LocalDate start, String keyType) throws SQLException {
    String part = Sql.ident(t.schema()) + "." + Sql.ident(t.interval().name(t.name(), start));
    String parent = Sql.ident(t.schema()) + "." + Sql.ident(t.name());
    LocalDate end = t.interval().plus(start, 1);
    String from = bound(start, keyType);
    String to = bound(end, keyType);
    try {
      return Sql.inTransaction(c, () -> {
        Sql.exec(c, "SET LOCAL lock_timeout = '2s'");
        Sql.exec(c, "CREATE TABLE IF NOT EXISTS " + part + " (LIKE " + parent + " INCLUDING DEFAULTS INCLUDING CONSTRAINTS)");
        Sql.exec(c, "ALTER TABLE " + parent + " ATTACH PARTITION " + part + " FOR VALUES FROM ('" + from + "') TO ('"
            + to + "')");
        return true;
      });
    } catch (SQLException e) {
      if ("42P17".equals(e.getSQLState())) {
        LOG.info("{} from {} is already covered by another partition; left as it is", t.qualified(), start);
        return false;
      }
      throw e;
    }
  }

  /** A range bound for the key's type, at midnight UTC. */
  private static String bound(LocalDate day, String keyType) {
    return keyType.equals("timestamp with time zone") ? day + " 00:00:00+00" : day.toString();
  }

  /** Our partitions of the table, by period start. */
  static TreeMap<LocalDate, String> partitions(Connection c, Table t) throws SQLException {
    TreeMap<LocalDate, String> out = new TreeMap<>();
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT child.relname FROM pg_inherits i JOIN pg_class child ON child.oid = i.inhrelid "
            + "WHERE i.inhparent = ?::regclass")) {
      ps.setString(1, t.qualified());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String name = rs.getString(1);
          t.interval().parseName(t.name(), name).ifPresent(d -> out.put(d, name));
        }
      }
    }
    return out;
  }
}
