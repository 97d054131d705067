package io.whatssound.realtime.runtime.cdc;

import io.whatssound.realtime.runtime.db.ClientRole;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Row-level security and column privileges for Postgres Changes. Which tables have RLS on and which
 * columns a role may select are cached for a few seconds; row visibility is checked for a whole group
 * of subscribers (same role and claims) and a whole batch of rows in one statement, run as that role
 * with its verified claims, inside a transaction that is rolled back.
 */
final class RowSecurity {
  private static final Logger LOG = LoggerFactory.getLogger(RowSecurity.class);
  static final Duration CACHE = Duration.ofSeconds(5);
  /** Claims that differ between tokens of the same user and session and do not decide visibility. */
  private static final Set<String> VOLATILE_CLAIMS = Set.of("exp", "iat", "nbf", "jti");

  private final DataSource db;
  private final Clock clock;
  private final Map<String, Cached<Boolean>> rls = new ConcurrentHashMap<>();
  private final Map<String, Cached<Set<String>>> columns = new ConcurrentHashMap<>();

  RowSecurity(DataSource db, Clock clock) {
    this.db = db;
    this.clock = clock;
  }

  private record Cached<T>(T value, Instant until) {}

  /** Subscribers whose role and claims are the same see the same rows. */
  static String groupKey(VerifiedToken token) {
    Map<String, Object> claims = new TreeMap<>(token.claims());
    claims.keySet().removeAll(VOLATILE_CLAIMS);
    return token.role() + "|" + Json.bytesAsString(claims);
  }

  /** Whether the table has row-level security enabled. */
  boolean enabled(String schema, String table) {
    return cached(rls, schema + "." + table, () -> query(
        "SELECT c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            + "WHERE n.nspname = ? AND c.relname = ?",
        rs -> rs.next() && rs.getBoolean(1), schema, table));
  }

  /** The columns of the table the role may select (empty: none, or the role does not exist). */
  Set<String> selectable(String role, String schema, String table) {
    return cached(columns, role + "|" + schema + "." + table, () -> query(
        "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            + "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.rolname = ? "
            + "WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped "
            + "AND has_column_privilege(r.oid, c.oid, a.attnum, 'SELECT')",
        rs -> {
          Set<String> out = new HashSet<>();
          while (rs.next()) {
            out.add(rs.getString(1));
          }
          return Set.copyOf(out);
        }, role, schema, table));
  }

  /**
   * Which of the given keys (values of {@code keyColumns}, as text in their JSON form) the group's role
   * and claims may select in the table now. One statement for the whole batch.
   */
  Set<List<String>> visible(
      VerifiedToken member, String schema, String table, List<String> keyColumns, Map<String, String> types,
      List<List<String>> keys) {
    if (keys.isEmpty() || keyColumns.isEmpty()) {
      return Set.of();
    }
    // the keys go in as text cast to the columns' types and come back as their positions, so a key whose
    // JSON form differs from PostgreSQL's text form (timestamps, numerics) still matches its row
    int n = keyColumns.size();
    String arrays = keyColumns.stream()
        .map(k -> "?::" + ident(types.getOrDefault(k, "text")) + "[]").collect(Collectors.joining(", "));
    String names = IntStream.range(0, n).mapToObj(i -> "k" + i).collect(Collectors.joining(", "));
    String on = IntStream.range(0, n)
        .mapToObj(i -> "t." + ident(keyColumns.get(i)) + " = k.k" + i).collect(Collectors.joining(" AND "));
    String sql = "SELECT k.ord FROM unnest(" + arrays + ") WITH ORDINALITY AS k(" + names + ", ord) JOIN "
        + ident(schema) + "." + ident(table) + " t ON " + on;
    // the role, the claims and the query go out in one execution: one round trip, one implicit
    // transaction, so the role and claims set for it end with it
    Set<List<String>> out = new HashSet<>();
    try (Connection c = db.getConnection();
        PreparedStatement ps = c.prepareStatement(ClientRole.SETTINGS + ";\n" + sql)) {
      int next = ClientRole.bind(ps, 1, member, null);
      for (int i = 0; i < keyColumns.size(); i++) {
        int col = i;
        ps.setArray(next + i, c.createArrayOf("text", keys.stream().map(k -> k.get(col)).toArray()));
      }
      ps.execute();
      if (!ps.getMoreResults()) {
        throw new SQLException("the row security query returned no rows", "XX000");
      }
      try (ResultSet rs = ps.getResultSet()) {
        while (rs.next()) {
          out.add(keys.get((int) rs.getLong(1) - 1));
        }
      }
    } catch (SQLException e) {
      if (ClientRole.roleRefused(e) || (e.getSQLState() != null && e.getSQLState().startsWith("42"))) {
        // the role cannot be assumed, or its grants do not allow the query: nothing is visible to it
        LOG.debug("Row security check on {}.{} as {}: {}", schema, table, member.role(), e.getMessage());
        return Set.of();
      }
      throw new Unavailable("row security check on " + schema + "." + table + " failed: " + e.getMessage(), e);
    }
    return out;
  }

  /**
   * Waits until transaction {@code xid} (32 bits, as logical decoding reports it) is visible to new
   * snapshots. PostgreSQL writes a commit to the WAL, where the slot's reader already sees it, a moment
   * before other sessions see its rows; a check run in that moment would take rows that are there for
   * rows that are hidden. Throws {@link Unavailable} when the transaction stays invisible for
   * {@code max}, so the stream reads it again instead of dropping it.
   */
  void awaitCommitted(long xid, Duration max) {
    long deadline = System.nanoTime() + max.toNanos();
    long pause = 1;
    try (Connection c = db.getConnection();
        PreparedStatement ps = c.prepareStatement(VISIBLE)) {
      ps.setLong(1, xid & 0xFFFF_FFFFL);
      while (true) {
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next() && rs.getBoolean(1)) {
            return;
          }
        }
        if (System.nanoTime() > deadline) {
          throw new Unavailable("transaction " + xid + " is committed in the WAL but not visible after " + max, null);
        }
        Thread.sleep(pause);
        pause = Math.min(pause * 2, 50);
      }
    } catch (SQLException e) {
      throw new Unavailable("could not check whether transaction " + xid + " is visible: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Unavailable("interrupted while waiting for transaction " + xid + " to become visible", e);
    }
  }

  /**
   * Whether a 32-bit transaction id is visible in a fresh snapshot. The id is widened to 64 bits with
   * the epoch that puts it nearest to the snapshot's xmax (a committed id is never 2^31 away from it).
   */
  private static final String VISIBLE =
      "WITH s AS (SELECT pg_current_snapshot() AS snap), "
          + "x AS (SELECT snap, pg_snapshot_xmax(snap)::text::bigint AS xmax FROM s), "
          + "c AS (SELECT snap, xmax, ((xmax >> 32) << 32) | ?::bigint AS cand FROM x) "
          + "SELECT pg_visible_in_snapshot((CASE WHEN cand > xmax + 2147483648 THEN cand - 4294967296 "
          + "WHEN cand < xmax - 2147483648 THEN cand + 4294967296 ELSE cand END)::text::xid8, snap) FROM c";

  /**
   * The database could not answer a security question. Changes are not sent unchecked and not dropped:
   * the replication stream stops before acknowledging them and reads them again after reconnecting.
   */
  static final class Unavailable extends RuntimeException {
    Unavailable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private <T> T cached(Map<String, Cached<T>> cache, String key, SqlSupplier<T> load) {
    Instant now = clock.instant();
    Cached<T> c = cache.get(key);
    if (c != null && now.isBefore(c.until())) {
      return c.value();
    }
    try {
      T v = load.get();
      cache.put(key, new Cached<>(v, now.plus(CACHE)));
      return v;
    } catch (SQLException e) {
      throw new Unavailable("could not read the security settings of " + key + ": " + e.getMessage(), e);
    }
  }

  private <T> T query(String sql, SqlReader<T> reader, String... args) throws SQLException {
    try (Connection c = db.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setString(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return reader.read(rs);
      }
    }
  }

  private static String ident(String name) {
    return ClientRole.ident(name);
  }

  @FunctionalInterface
  private interface SqlSupplier<T> {
    T get() throws SQLException;
  }

  @FunctionalInterface
  private interface SqlReader<T> {
    T read(ResultSet rs) throws SQLException;
  }
}
