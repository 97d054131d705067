package io.whatssound.realtime.bench;

import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * Postgres Changes: N subscribers join channel(s) with one {@code postgres_changes} INSERT binding on
 * {@code public.bench_changes}; a writer inserts rows through PgJDBC at R rows/s for D s, either as
 * multi-row INSERTs (one transaction per tick, {@code --mode batch}) or one row per transaction from
 * several connections ({@code --mode tx}). Measures rows dispatched per subscriber per second,
 * deliveries per second, commit-to-client latency and lost rows.
 *
 * <p>Latency: the writer records {@code System.nanoTime()} when each INSERT returned (autocommit, so
 * the transaction has committed) in an array indexed by {@code id - base}; every subscriber, in the
 * same process, subtracts it on arrival. The row also carries {@code sent_at_nanos}, the time just
 * before the INSERT was sent, for a second "insert-to-client" figure that includes the commit itself.
 */
final class ChangesScenario {
  private static final byte[] SENT_COLUMN = "\"sent_at_nanos\":".getBytes(StandardCharsets.US_ASCII);

  private ChangesScenario() {}

  /** One subscriber's view: which ids it got (its own event loop writes, the main thread reads at the end). */
  static final class Sub implements Conn.Listener {
    private final long base;
    private final Shared shared;
    private final long[] scratch = new long[2];
    private final BitSet seen = new BitSet();
    volatile long distinct;
    volatile long duplicates;
    volatile long stale;
    final CompletableFuture<Void> subscribed = new CompletableFuture<>();

    /** This subscriber's claims group ({@code grp} = "g" + group), or -1 without row-level security. */
    private final int group;
    /** With {@code --rls-rows share}: the number of groups rows are spread over (row id mod groups); else 0. */
    private final int spread;

    Sub(long base, Shared shared) {
      this(base, shared, -1, 0);
    }

    Sub(long base, Shared shared, int group, int spread) {
      this.base = base;
      this.shared = shared;
      this.group = group;
      this.spread = spread;
    }

    @Override
    public boolean frame(Conn c, WebSocketFrame f, long now) {
      if (!Wire.readChange(f, SENT_COLUMN, scratch)) {
        return false;
      }
      long idx = scratch[0] - base;
      if (idx < 0 || idx >= Integer.MAX_VALUE) {
        stale++;
        return true;
      }
      if (spread > 0 && Math.floorMod(scratch[0], spread) != group) {
        // a row of another claims group: row-level security let it through
        shared.foreign.increment();
        return true;
      }
      int i = (int) idx;
      if (seen.get(i)) {
        duplicates++;
        return true;
      }
      seen.set(i);
      distinct++;
      long commit = i < shared.commitAt.length() ? shared.commitAt.get(i) : 0;
      if (commit == 0) {
        // arrived before the writer saw its INSERT return: commit-to-client is ~0
        shared.early.increment();
        shared.commitLatency.delivered(now, now);
      } else {
        shared.commitLatency.delivered(commit, now);
      }
      shared.insertLatency.delivered(scratch[1], now);
      return true;
    }

    @Override
    public void push(Conn c, Wire.Msg m, long now) {
      if ("system".equals(m.event()) && m.payload() != null
          && "postgres_changes".equals(m.payload().path("extension").asText())) {
        if ("ok".equals(m.payload().path("status").asText())) {
          subscribed.complete(null);
        } else {
          subscribed.completeExceptionally(new IllegalStateException("postgres_changes: " + m.payload()));
        }
      }
    }
  }

  /** State shared by the writer and all subscribers. */
  static final class Shared {
    final AtomicLongArray commitAt;
    final Recorder commitLatency = new Recorder();
    final Recorder insertLatency = new Recorder();
    final LongAdder early = new LongAdder();
    final AtomicLong inserted = new AtomicLong();
    final AtomicLong transactions = new AtomicLong();
    final AtomicLong skipped = new AtomicLong();
    final AtomicReference<Throwable> writerError = new AtomicReference<>();
    /** Rows received by a subscriber whose claims group may not see them ({@code --rls-rows share}). */
    final LongAdder foreign = new LongAdder();
    /** Rows inserted per group (row id mod groups) with {@code --rls-rows share}; else one slot. */
    final AtomicLongArray perGroup;
    final int spread;

    Shared(int capacity, int spread) {
      commitAt = new AtomicLongArray(capacity);
      this.spread = spread;
      perGroup = new AtomicLongArray(Math.max(1, spread));
    }
  }

  static Report run(Options o) throws Exception {
    int n = o.integer("subscribers", 100);
    double rate = o.decimal("rate", 1000);
    double duration = o.decimal("duration", 20);
    double warmup = o.decimal("warmup", 3);
    String mode = o.str("mode", "batch");
    int tickMs = o.integer("tick-ms", 10);
    int batchMax = o.integer("batch-max", 1000);
    int writers = o.integer("writers", 4);
    int size = o.integer("payload", 100);
    int channels = o.integer("channels", 1);
    int inFlight = o.integer("connect-concurrency", 200);
    String dbUrl = o.str("db", "postgres://postgres:postgres@127.0.0.1:54322/postgres");
    String table = o.str("table", "bench_changes");
    String publication = o.str("publication", "supabase_realtime");
    double drainMax = o.decimal("drain", 60);
    String syncCommit = o.str("sync-commit", "server");
    int rlsGroups = o.integer("rls-groups", 0);
    String rlsRows = o.str("rls-rows", "share");
    if (!rlsRows.equals("share") && !rlsRows.equals("all")) {
      throw new IllegalArgumentException("--rls-rows must be share (row id mod G picks the one group that sees a row)"
          + " or all (every group sees every row)");
    }
    if (rlsGroups < 0 || rlsGroups > 10_000) {
      throw new IllegalArgumentException("--rls-groups must be 0 (row-level security off) to 10000");
    }
    int spread = rlsGroups > 0 && rlsRows.equals("share") ? rlsGroups : 0;
    long pgPid = o.number("pg-pid", -1);
    if (!mode.equals("batch") && !mode.equals("tx")) {
      throw new IllegalArgumentException("--mode must be batch (multi-row INSERT per tick) or tx (one row per transaction)");
    }
    if (!syncCommit.equals("server") && !syncCommit.equals("on") && !syncCommit.equals("off")
        && !syncCommit.equals("local")) {
      throw new IllegalArgumentException("--sync-commit must be server (leave the server's setting), on, local or off");
    }
    if (!table.matches("[a-z_][a-z0-9_]*") || !publication.matches("[a-z_][a-z0-9_]*")) {
      throw new IllegalArgumentException("--table and --publication must be plain lower-case identifiers");
    }
    String qualified = "public." + table;
    Db db = Db.of(dbUrl, syncCommit);
    long base;
    String serverSyncCommit;
    try (Connection c = db.connect()) {
      setup(c, qualified, table, publication);
      rowSecurity(c, qualified, rlsGroups, rlsRows);
      try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW synchronous_commit")) {
        rs.next();
        serverSyncCommit = rs.getString(1);
      }
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT nextval(pg_get_serial_sequence('" + qualified + "', 'id'))")) {
        rs.next();
        base = rs.getLong(1) + 1;
      }
    }
    int capacity = (int) Math.min(Integer.MAX_VALUE - 8, (long) (rate * (duration + 1) * 1.2) + 10_000);
    Shared shared = new Shared(capacity, spread);
    Report r = new Report("changes", o);
    try (Client client = new Client(o)) {
      Probe probe = new Probe(o, client.base);
      String name = "changes-" + System.currentTimeMillis();
      String bindings = "[{\"event\":\"INSERT\",\"schema\":\"public\",\"table\":\"" + table + "\"}]";
      String joinPayload = Wire.joinPayloadChanges(bindings);
      List<Sub> subs = new ArrayList<>(n);
      // subscriber i is in claims group i mod G (connectMany gives connection i the listener subs.get(i))
      String[] tokens = new String[Math.max(0, rlsGroups)];
      for (int g = 0; g < tokens.length; g++) {
        tokens[g] = client.tokens.sign("authenticated", Map.of("grp", "g" + g, "sub", "bench-group-" + g));
      }
      for (int i = 0; i < n; i++) {
        subs.add(rlsGroups > 0 ? new Sub(base, shared, i % rlsGroups, spread) : new Sub(base, shared));
      }
      int[] next = {0};
      System.out.printf("changes: connecting %d subscribers (%d channel(s) realtime:%s-*) to INSERTs on %s ...%n",
          n, channels, name, qualified);
      long c0 = System.nanoTime();
      List<Conn> conns =
          client.connectMany(n, inFlight, i -> subs.get(i),
              c -> {
                String topic = "realtime:" + name + "-" + Math.floorMod(c.id, channels);
                String joinRef = Conn.nextRef();
                String payload = rlsGroups <= 0 ? joinPayload
                    : withAccessToken(joinPayload, tokens[((Sub) c.listener()).group]);
                return c.call(joinRef, topic, "phx_join", payload).thenApply(reply -> {
                  if (!"ok".equals(reply.path("status").asText())) {
                    throw new IllegalStateException("join of " + topic + " refused: " + reply);
                  }
                  return joinRef;
                });
              }, 0);
      CompletableFuture.allOf(subs.stream().map(s -> s.subscribed).toArray(CompletableFuture[]::new))
          .get(120, TimeUnit.SECONDS);
      r.put("connect_join_subscribe_per_s", n / ((System.nanoTime() - c0) / 1e9));
      System.out.printf("changes: %d subscribed (\"Subscribed to PostgreSQL\") in %.1f s%n", n,
          (System.nanoTime() - c0) / 1e9);

      Connection monitor = db.connect();
      Probe.Cpu cpu = new Probe.Cpu(probe.pid);
      long postmaster = pgPid > 0 ? pgPid : postmasterPid(URI.create(db.jdbcUrl().substring(5)).getPort());
      Map<Long, Long> pgCpu0 = treeCpu(postmaster);
      String load0 = loadAverage();
      long start = System.nanoTime();
      long from = start + (long) (warmup * 1e9);
      long until = start + (long) (duration * 1e9);
      shared.commitLatency.window(from, until);
      shared.insertLatency.window(from, until);
      List<Thread> threads = new ArrayList<>();
      String pad = "x".repeat(Math.max(0, size));
      if (mode.equals("batch")) {
        threads.add(new Thread(() -> batchWriter(db, qualified, pad, rate, start, until, tickMs, batchMax, base, shared),
            "writer"));
      } else {
        for (int w = 0; w < writers; w++) {
          threads.add(new Thread(() -> txWriter(db, qualified, pad, rate / writers, start, until, base, shared),
              "writer-" + w));
        }
      }
      System.out.printf("changes: inserting %.0f rows/s (%s) for %.0f s, %.0f deliveries/s offered ...%n",
          rate, mode.equals("batch") ? "multi-row INSERT every " + tickMs + " ms" : writers + " connections, 1 row/tx",
          duration, rate * n);
      threads.forEach(Thread::start);
      long unsentMax = 0;
      long ins0 = 0;
      long del0 = 0;
      long tx0 = 0;
      long tFrom = 0;
      long lastIns = 0;
      long lastDel = 0;
      int second = 0;
      while (System.nanoTime() < until) {
        long wake = start + (++second) * 1_000_000_000L;
        if (tFrom == 0 && wake > from) {
          FanoutScenario.sleepUntil(from);
          tFrom = System.nanoTime();
          ins0 = shared.inserted.get();
          del0 = shared.commitLatency.deliveries();
          tx0 = shared.transactions.get();
        }
        FanoutScenario.sleepUntil(Math.min(wake, until));
        long ins = shared.inserted.get();
        long del = shared.commitLatency.deliveries();
        unsentMax = Math.max(unsentMax, walUnsent(monitor));
        double fanNow = spread > 0 ? n / (double) spread : n;
        System.out.printf("  t=%3ds inserted %7d/s  delivered %7d rows/s per subscriber (%9d deliveries/s)  behind %8d rows  load %s%n",
            second, ins - lastIns, (long) ((del - lastDel) / fanNow), del - lastDel, (long) (ins - del / fanNow), loadAverage());
        lastIns = ins;
        lastDel = del;
      }
      FanoutScenario.sleepUntil(until);
      long tUntil = System.nanoTime();
      long ins1 = shared.inserted.get();
      long del1 = shared.commitLatency.deliveries();
      long tx1 = shared.transactions.get();
      double[] cpuPct = cpu.percent();
      double pgPct = cpuPercent(pgCpu0, treeCpu(postmaster), (tUntil - start) / 1e9);
      String load1 = loadAverage();
      for (Thread t : threads) {
        t.join(30_000);
      }
      long writerEnd = System.nanoTime();
      long inserted = shared.inserted.get();
      long expected = 0;
      if (spread > 0) {
        for (Sub s : subs) {
          expected += shared.perGroup.get(s.group);
        }
      } else {
        expected = inserted * n;
      }
      // subscribers that may see each row: n, or with --rls-rows share those of the row's group (~n / G)
      double fan = inserted == 0 ? n : expected / (double) inserted;
      shared.commitLatency.drain(expected, drainMax, 5);
      long got = shared.commitLatency.deliveries();
      double drainS = Math.max(0, (shared.commitLatency.lastDeliveryNanos() - writerEnd) / 1e9);
      long dups = subs.stream().mapToLong(s -> s.duplicates).sum();
      long stale = subs.stream().mapToLong(s -> s.stale).sum();
      long distinct = subs.stream().mapToLong(s -> s.distinct).sum();
      long minPerSub = subs.stream().mapToLong(s -> s.distinct).min().orElse(0);
      double window = (tUntil - tFrom) / 1e9;
      double insRate = (ins1 - ins0) / window;
      double delRate = (del1 - del0) / window;
      double perSub = delRate / fan;
      long lost = expected - distinct;
      if (lost > 0) {
        printMissing(subs, shared, base, inserted);
      }
      boolean keepsUp = insRate >= 0.95 * rate && perSub >= 0.95 * insRate && lost == 0 && drainS < 1.0;
      LatencyHistogram commit = shared.commitLatency.snapshot();
      r.put("subscribers", n)
          .put("writer", mode.equals("batch") ? "batch: multi-row INSERT per tick, 1 tx each" : "tx: 1 row per tx")
          .put("synchronous_commit", syncCommit.equals("server") ? serverSyncCommit + " (server)" : syncCommit)
          .put("rows_per_tx", tx1 - tx0 == 0 ? 0.0 : (ins1 - ins0) / (double) (tx1 - tx0))
          .put("rows_inserted", inserted)
          .put("rows_skipped_writer_behind", shared.skipped.get())
          .put("insert_rate_per_s", insRate)
          .put("rows_per_subscriber_per_s", perSub)
          .put("deliveries_per_s", delRate)
          .put("rls_groups", rlsGroups)
          .put("rls_rows", rlsGroups <= 0 ? "" : rlsRows)
          .put("subscribers_per_row", fan)
          .put("foreign_group_rows_received", shared.foreign.sum())
          .put("keeps_up", keepsUp)
          .put("deliveries_total", got)
          .put("lost", lost)
          .put("min_rows_one_subscriber", minPerSub)
          .put("duplicates", dups)
          .put("stale_rows_from_earlier_runs", stale)
          .put("drain_s", drainS)
          .put("wal_unsent_max_kb", unsentMax / 1024.0)
          .latency("commit_latency", commit)
          .put("commit_before_insert_returned", shared.early.sum())
          .latency("insert_latency", shared.insertLatency.snapshot())
          .put("runtime_cpu_pct", cpuPct[0])
          .put("postgres_cpu_pct", pgPct)
          .put("bench_cpu_pct", cpuPct[1])
          .put("nproc", Runtime.getRuntime().availableProcessors())
          .put("loadavg_start", load0)
          .put("loadavg_end", load1)
          .put("writer_error", shared.writerError.get() == null ? "" : shared.writerError.get().toString());
      monitor.close();
      Client.closeAll(conns, 10_000);
      return r;
    }
  }

  // ---- the database

  /** A JDBC URL with user and password, from {@code postgres://user:password@host:port/db} or a JDBC URL. */
  record Db(String jdbcUrl, Properties props) {
    static Db of(String url, String syncCommit) {
      Properties p = new Properties();
      if (!syncCommit.equals("server")) {
        p.setProperty("options", "-c synchronous_commit=" + syncCommit);
      }
      if (url.startsWith("jdbc:")) {
        return new Db(url, p);
      }
      URI u = URI.create(url);
      if (!"postgres".equals(u.getScheme()) && !"postgresql".equals(u.getScheme())) {
        throw new IllegalArgumentException("--db must be postgres://user:password@host:port/db or a JDBC URL, got " + url);
      }
      if (u.getUserInfo() != null) {
        String[] ui = u.getUserInfo().split(":", 2);
        p.setProperty("user", ui[0]);
        if (ui.length > 1) {
          p.setProperty("password", ui[1]);
        }
      }
      String dbName = u.getPath() == null || u.getPath().length() <= 1 ? "/postgres" : u.getPath();
      return new Db("jdbc:postgresql://" + u.getHost() + ":" + (u.getPort() < 0 ? 5432 : u.getPort()) + dbName, p);
    }

    Connection connect() throws SQLException {
      Properties p = new Properties();
      p.putAll(props);
      p.setProperty("ApplicationName", "realtime-bench");
      p.setProperty("tcpKeepAlive", "true");
      return DriverManager.getConnection(jdbcUrl, p);
    }
  }

  /**
   * Row-level security for {@code --rls-groups G}: on, with one SELECT policy for {@code authenticated} that
   * compares the row's {@code grp} with the token's {@code grp} claim ({@code rows = share}: the writer sets
   * {@code grp = 'g' || (id % G)}, so each group sees 1/G of the rows), or that only requires a {@code grp}
   * claim ({@code rows = all}: every group sees every row). Both read the claims through
   * {@code (SELECT auth.jwt())}, as Supabase's guide recommends. {@code G = 0}: row-level security off.
   */
  private static void rowSecurity(Connection c, String qualified, int groups, String rows) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.execute("ALTER TABLE " + qualified + " ADD COLUMN IF NOT EXISTS grp text");
      st.execute("DROP POLICY IF EXISTS bench_read ON " + qualified);
      if (groups == 0) {
        st.execute("ALTER TABLE " + qualified + " DISABLE ROW LEVEL SECURITY");
        return;
      }
      String using = rows.equals("share")
          ? "grp = ((SELECT auth.jwt()) ->> 'grp')"
          : "((SELECT auth.jwt()) ->> 'grp') IS NOT NULL";
      st.execute("CREATE POLICY bench_read ON " + qualified + " FOR SELECT TO authenticated USING (" + using + ")");
      st.execute("GRANT SELECT ON " + qualified + " TO authenticated");
      st.execute("ALTER TABLE " + qualified + " ENABLE ROW LEVEL SECURITY");
      System.out.printf("changes: row-level security on, policy USING (%s), %d claim groups (%s)%n", using, groups,
          rows.equals("share") ? "row id mod " + groups + " picks the group that sees a row" : "every group sees every row");
    }
  }

  /** For a lost-rows report: which subscribers (and claims groups) missed which row ids, first few. */
  private static void printMissing(List<Sub> subs, Shared shared, long base, long inserted) {
    Map<String, Integer> byRange = new TreeMap<>();
    int shown = 0;
    for (int i = 0; i < subs.size(); i++) {
      Sub s = subs.get(i);
      StringBuilder ranges = new StringBuilder();
      int missing = 0;
      for (int idx = s.seen.nextClearBit(0); idx < inserted; idx = s.seen.nextClearBit(idx + 1)) {
        if (s.spread > 0 && Math.floorMod(base + idx, s.spread) != s.group) {
          continue;
        }
        if (missing++ < 8) {
          ranges.append(' ').append(base + idx);
        }
      }
      if (missing > 0) {
        byRange.merge("group " + s.group + ": ids" + ranges + (missing > 8 ? " …" : "") + " (" + missing + " missing)", 1,
            Integer::sum);
      }
    }
    for (var e : byRange.entrySet()) {
      if (shown++ >= 20) {
        break;
      }
      System.out.printf("  lost: %d subscriber(s) of %s%n", e.getValue(), e.getKey());
    }
  }

  /** {@code joinPayload} (a JSON object) with {@code "access_token"} added at its top level. */
  static String withAccessToken(String joinPayload, String token) {
    int end = joinPayload.lastIndexOf('}');
    return joinPayload.substring(0, end) + ",\"access_token\":\"" + token + "\"}";
  }

  /** The table, and the table in the publication, when missing. */
  private static void setup(Connection c, String qualified, String table, String publication) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.execute("CREATE TABLE IF NOT EXISTS " + qualified
          + " (id bigserial primary key, sent_at_nanos bigint, payload text)");
      boolean exists;
      boolean allTables;
      try (ResultSet rs = st.executeQuery("SELECT puballtables FROM pg_publication WHERE pubname = '" + publication + "'")) {
        exists = rs.next();
        allTables = exists && rs.getBoolean(1);
      }
      if (!exists) {
        throw new IllegalStateException("publication " + publication + " does not exist (is --db the runtime's database?)");
      }
      if (!allTables) {
        boolean published;
        try (ResultSet rs = st.executeQuery("SELECT 1 FROM pg_publication_tables WHERE pubname = '" + publication
            + "' AND schemaname = 'public' AND tablename = '" + table + "'")) {
          published = rs.next();
        }
        if (!published) {
          st.execute("ALTER PUBLICATION " + publication + " ADD TABLE " + qualified);
          System.out.printf("changes: created %s and added it to publication %s%n", qualified, publication);
        }
      }
    }
  }

  /** Multi-row INSERTs, one autocommit statement (= one transaction) per tick with every row due by then. */
  private static void batchWriter(
      Db db, String qualified, String pad, double rate, long start, long until, int tickMs, int batchMax, long base,
      Shared shared) {
    long maxDebt = Math.max(1, (long) (rate * 0.1));
    long tick = tickMs * 1_000_000L;
    long done = 0;
    long skipped = 0;
    try (Connection c = db.connect();
        PreparedStatement ps = c.prepareStatement(shared.spread > 0
            ? "INSERT INTO " + qualified + " (id, sent_at_nanos, payload, grp) SELECT v, ?, ?, 'g' || (v % "
                + shared.spread + ") FROM (SELECT nextval(pg_get_serial_sequence('" + qualified
                + "', 'id')) AS v FROM generate_series(1, ?)) AS s RETURNING id"
            : "INSERT INTO " + qualified + " (sent_at_nanos, payload) SELECT ?, ? FROM generate_series(1, ?) RETURNING id")) {
      long[] ids = new long[batchMax];
      for (long t = start; ; t += tick) {
        long now = System.nanoTime();
        if (now < t) {
          LockSupport.parkNanos(t - now);
          now = System.nanoTime();
        }
        long due = (long) ((Math.min(now, until) - start) / 1e9 * rate) - done - skipped;
        if (due > maxDebt) {
          skipped += due - maxDebt;
          shared.skipped.addAndGet(due - maxDebt);
          due = maxDebt;
        }
        while (due > 0) {
          int k = (int) Math.min(due, batchMax);
          ps.setLong(1, System.nanoTime());
          ps.setString(2, pad);
          ps.setInt(3, k);
          int got = 0;
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              ids[got++] = rs.getLong(1);
            }
          }
          long committed = System.nanoTime();
          record(shared, ids, got, base, committed);
          shared.transactions.incrementAndGet();
          done += k;
          due -= k;
        }
        if (now >= until) {
          return;
        }
      }
    } catch (SQLException | RuntimeException e) {
      shared.writerError.compareAndSet(null, e);
      System.err.println("writer failed: " + e);
    }
  }

  /** One row per autocommit INSERT (one transaction each), paced at {@code rate} on this connection. */
  private static void txWriter(
      Db db, String qualified, String pad, double rate, long start, long until, long base, Shared shared) {
    long maxDebt = Math.max(1, (long) (rate * 0.1));
    long done = 0;
    long skipped = 0;
    try (Connection c = db.connect();
        PreparedStatement ps = c.prepareStatement(shared.spread > 0
            ? "INSERT INTO " + qualified + " (id, sent_at_nanos, payload, grp) SELECT v, ?, ?, 'g' || (v % "
                + shared.spread + ") FROM (SELECT nextval(pg_get_serial_sequence('" + qualified + "', 'id')) AS v) AS s"
                + " RETURNING id"
            : "INSERT INTO " + qualified + " (sent_at_nanos, payload) VALUES (?, ?) RETURNING id")) {
      long[] ids = new long[1];
      while (true) {
        long now = System.nanoTime();
        if (now >= until) {
          return;
        }
        long due = (long) ((now - start) / 1e9 * rate) - done - skipped;
        if (due > maxDebt) {
          skipped += due - maxDebt;
          shared.skipped.addAndGet(due - maxDebt);
          due = maxDebt;
        }
        if (due <= 0) {
          long nextAt = start + (long) ((done + skipped + 1) / rate * 1e9);
          LockSupport.parkNanos(Math.max(10_000, Math.min(nextAt - now, 1_000_000)));
          continue;
        }
        for (long i = 0; i < due; i++) {
          ps.setLong(1, System.nanoTime());
          ps.setString(2, pad);
          int got = 0;
          try (ResultSet rs = ps.executeQuery()) {
            if (rs.next()) {
              ids[got++] = rs.getLong(1);
            }
          }
          record(shared, ids, got, base, System.nanoTime());
          shared.transactions.incrementAndGet();
          done++;
        }
      }
    } catch (SQLException | RuntimeException e) {
      shared.writerError.compareAndSet(null, e);
      System.err.println("writer failed: " + e);
    }
  }

  private static void record(Shared shared, long[] ids, int count, long base, long committed) {
    for (int i = 0; i < count; i++) {
      long idx = ids[i] - base;
      if (idx >= 0 && idx < shared.commitAt.length()) {
        shared.commitAt.set((int) idx, committed);
      }
      if (shared.spread > 0) {
        shared.perGroup.incrementAndGet((int) Math.floorMod(ids[i], (long) shared.spread));
      }
    }
    shared.inserted.addAndGet(count);
  }

  /** WAL written but not yet sent to the runtime's replication connection, in bytes (0 when unknown). */
  private static long walUnsent(Connection c) {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), sent_lsn)), 0) "
            + "FROM pg_stat_replication WHERE application_name = 'realtime-replication'")) {
      return rs.next() ? rs.getLong(1) : 0;
    } catch (SQLException e) {
      return 0;
    }
  }

  // ---- measuring

  private static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return "";
    }
  }

  /** The PostgreSQL postmaster listening on {@code port} of this machine (its command line has -p port), or -1. */
  static long postmasterPid(int port) {
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.toList()) {
        String pid = p.getFileName().toString();
        if (!pid.chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          String[] argv = Files.readString(p.resolve("cmdline")).split("\0");
          if (argv.length > 0 && argv[0].endsWith("/postgres")) {
            for (int i = 0; i + 1 < argv.length; i++) {
              if (argv[i].equals("-p") && argv[i + 1].equals(Integer.toString(port))) {
                return Long.parseLong(pid);
              }
            }
          }
        } catch (IOException | RuntimeException e) {
          // gone meanwhile, or not ours to read
        }
      }
    } catch (IOException e) {
      return -1;
    }
    return -1;
  }

  /**
   * CPU milliseconds of {@code pid} and every descendant (PostgreSQL: postmaster, walsender, backends,
   * walwriter), by pid.
   */
  static Map<Long, Long> treeCpu(long pid) {
    Map<Long, Long> out = new HashMap<>();
    if (pid <= 0) {
      return out;
    }
    out.put(pid, Probe.cpuMillis(pid));
    Map<Long, List<Long>> children = new HashMap<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      procs.map(p -> p.getFileName().toString()).filter(s -> s.chars().allMatch(Character::isDigit)).forEach(s -> {
        try {
          String stat = Files.readString(Path.of("/proc", s, "stat"));
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          children.computeIfAbsent(Long.parseLong(f[1]), k -> new ArrayList<>()).add(Long.parseLong(s));
        } catch (IOException | RuntimeException e) {
          // gone meanwhile
        }
      });
    } catch (IOException e) {
      return out;
    }
    List<Long> todo = new ArrayList<>(children.getOrDefault(pid, List.of()));
    while (!todo.isEmpty()) {
      long p = todo.remove(todo.size() - 1);
      long ms = Probe.cpuMillis(p);
      if (ms >= 0) {
        out.put(p, ms);
      }
      todo.addAll(children.getOrDefault(p, List.of()));
    }
    return out;
  }

  /** CPU of the processes in {@code after} since {@code before} (new processes count fully), as % of one core. */
  static double cpuPercent(Map<Long, Long> before, Map<Long, Long> after, double seconds) {
    if (after.isEmpty()) {
      return -1;
    }
    long ms = 0;
    for (Map.Entry<Long, Long> e : after.entrySet()) {
      ms += e.getValue() - before.getOrDefault(e.getKey(), 0L);
    }
    return ms / 10.0 / seconds;
  }
}
