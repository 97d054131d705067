package io.whatssound.realtime.runtime.history;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.whatssound.realtime.runtime.value.EpochMicros;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broadcasts of history topics in {@code realtime.messages}: written in batches off the publishing threads, and
 * read back for replays and latest values.
 *
 * <p>Publishing only offers a row to a bounded queue, so storage never delays or blocks live delivery. One writer
 * thread inserts what is queued, one multi-row INSERT per batch interval. While the database is away the batch is kept
 * and tried again; what does not fit into the queue meanwhile, or what the database refuses, is counted in
 * {@code realtime_history_unstored_total} and logged once per incident. Each batch's transaction starts with a logical
 * decoding message ({@link #WAL_MARKER}), by which the slot reader knows these rows are already out live.
 */
public final class MessageStore implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MessageStore.class);
  /** The prefix of the logical decoding message that marks a transaction of stored history. */
  public static final String WAL_MARKER = "realtime.history";
  static final int QUEUE_CAPACITY = 100_000;
  static final int MAX_BATCH = 20_000;

  private static final String INSERT =
      "INSERT INTO realtime.messages (id, topic, extension, event, payload, binary_payload, private, inserted_at, "
          + "updated_at) SELECT t.id::uuid, t.topic, 'broadcast', t.event, t.payload::jsonb, decode(t.bin, 'hex'), t.priv, "
          + "t.at::timestamp, t.at::timestamp "
          + "FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::boolean[], ?::text[]) "
          + "AS t(id, topic, event, payload, bin, priv, at)";
  private static final String COLUMNS =
      "SELECT id::text, event, payload::text, binary_payload, (extract(epoch FROM inserted_at) * 1000000)::bigint "
          + "FROM realtime.messages WHERE topic = ? AND private = ? AND extension = 'broadcast' "
          + "AND inserted_at >= ?::timestamp ";

  /** A message waiting to be stored. */
  record Row(TopicKey key, Kept kept) {}

  private final DataSource db;
  private final Executor readers;
  private final Duration interval;
  private final BlockingQueue<Row> queue;
  private final ScheduledExecutorService writer;
  private final Counter stored;
  private final Counter unstored;
  private final DistributionSummary batches;
  /** A batch the database could not take yet; tried again before anything newer. */
  private List<Row> retry = List.of();
  /** Rows of the batch being written or kept for another attempt. */
  private volatile int inFlight;
  /** Since when storing fails, or 0; messages not stored in this incident. */
  private long failingSince;
  private long lostInIncident;
  private final Object incident = new Object();
  private volatile boolean closed;

  /**
   * @param db       connections that may insert into and read {@code realtime.messages}
   * @param readers  where replay and latest-value reads run
   * @param interval at most one batch per interval
   */
  public MessageStore(DataSource db, Executor readers, Duration interval, MeterRegistry meters) {
    this(db, readers, interval, meters, QUEUE_CAPACITY);
  }

  MessageStore(DataSource db, Executor readers, Duration interval, MeterRegistry meters, int capacity) {
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.db = db;
    this.readers = readers;
    this.interval = interval;
    this.writer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "history-writer");
      t.setDaemon(true);
      return t;
    });
    this.stored = Counter.builder("realtime_history_stored")
        .description("Broadcasts of history topics stored in realtime.messages").register(meters);
    this.unstored = Counter.builder("realtime_history_unstored")
        .description("Broadcasts of history topics delivered live but not stored (queue full or database refused)")
        .register(meters);
    this.batches = DistributionSummary.builder("realtime_history_batch_rows")
        .description("Rows per stored batch").register(meters);
    Gauge.builder("realtime_history_queue", this, MessageStore::waiting)
        .description("Broadcasts waiting to be stored, the batch being written included").register(meters);
  }

  /** Starts the writer. */
  public MessageStore start() {
    writer.scheduleWithFixedDelay(this::flushQuietly, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  /** Queues a published message for storing; never blocks. A full queue counts it as not stored. */
  void offer(TopicKey key, Kept kept) {
    if (closed || !queue.offer(new Row(key, kept))) {
      notStored(1, "the queue of messages waiting to be stored is full");
    }
  }

  /** Messages waiting to be stored, the batch being written (or kept for another attempt) included. */
  int waiting() {
    return queue.size() + inFlight;
  }

  private void flushQuietly() {
    try {
      flush();
    } catch (RuntimeException e) {
      LOG.error("Storing history failed unexpectedly", e);
    }
  }

  /** Stores one batch: the kept one when the database failed last time, else what is queued (at most MAX_BATCH). */
  synchronized void flush() {
    List<Row> batch = retry;
    if (batch.isEmpty()) {
      batch = new ArrayList<>(Math.min(queue.size(), MAX_BATCH));
      queue.drainTo(batch, MAX_BATCH);
    }
    if (batch.isEmpty()) {
      return;
    }
    inFlight = batch.size();
    try {
      insert(batch);
      retry = List.of();
      inFlight = 0;
      stored.increment(batch.size());
      batches.record(batch.size());
      recovered();
    } catch (SQLException e) {
      if (refusesRows(e)) {
        retry = List.of();
        storeOneByOne(batch, e);
        inFlight = 0;
      } else {
        // unreachable, busy, or a pooler that lost a session's state: nothing wrong with the rows, so try again
        retry = batch;
        failing((transientFailure(e) ? "the database is unreachable (" : "the database did not take the batch (")
            + e.getMessage() + "); retrying every " + interval.toMillis() + " ms");
      }
    }
  }

  /** A batch the database refused as a whole (e.g. a payload jsonb cannot hold): each row alone, refusals counted. */
  private void storeOneByOne(List<Row> batch, SQLException first) {
    if (batch.size() == 1) {
      notStored(1, "the database refused a message on " + batch.get(0).key().topic() + ": " + first.getMessage());
      return;
    }
    int ok = 0;
    for (int i = 0; i < batch.size(); i++) {
      Row r = batch.get(i);
      try {
        insert(List.of(r));
        ok++;
      } catch (SQLException e) {
        if (!refusesRows(e)) {
          // not this row's fault: the rest goes again with the next batch
          retry = List.copyOf(batch.subList(i, batch.size()));
          failing("the database did not take a message (" + e.getMessage() + "); retrying every "
              + interval.toMillis() + " ms");
          break;
        }
        notStored(1, "the database refused a message on " + r.key().topic() + ": " + e.getMessage());
      }
    }
    stored.increment(ok);
  }

  private void insert(List<Row> rows) throws SQLException {
    int n = rows.size();
    String[] ids = new String[n];
    String[] topics = new String[n];
    String[] events = new String[n];
    String[] payloads = new String[n];
    String[] binaries = new String[n];
    Boolean[] privates = new Boolean[n];
    String[] ats = new String[n];
    HexFormat hex = HexFormat.of();
    for (int i = 0; i < n; i++) {
      Row r = rows.get(i);
      Kept k = r.kept();
      ids[i] = k.id();
      topics[i] = r.key().subTopic();
      events[i] = k.event();
      payloads[i] = k.binary() ? null : new String(k.payload(), StandardCharsets.UTF_8);
      binaries[i] = k.binary() ? hex.formatHex(k.payload()) : null;
      privates[i] = r.key().isPrivate();
      ats[i] = EpochMicros.sql(k.at());
    }
    try (Connection c = db.getConnection()) {
      c.setAutoCommit(false);
      try {
        try (PreparedStatement marker = c.prepareStatement("SELECT pg_logical_emit_message(true, ?, '')")) {
          marker.setString(1, WAL_MARKER);
          marker.execute();
        }
        try (PreparedStatement ps = c.prepareStatement(INSERT)) {
          Array[] arrays = {
            c.createArrayOf("text", ids), c.createArrayOf("text", topics), c.createArrayOf("text", events),
            c.createArrayOf("text", payloads), c.createArrayOf("text", binaries), c.createArrayOf("bool", privates),
            c.createArrayOf("text", ats)
          };
          for (int i = 0; i < arrays.length; i++) {
            ps.setArray(i + 1, arrays[i]);
          }
          ps.executeUpdate();
        }
        c.commit();
      } catch (SQLException e) {
        rollbackQuietly(c);
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    }
  }

  private static void rollbackQuietly(Connection c) {
    try {
      c.rollback();
    } catch (SQLException ignored) {
      // the connection is gone; the pool drops it
    }
  }

  /**
   * Whether the database refused these rows for what they hold (a data exception or an integrity violation, SQLSTATE
   * classes 22 and 23: a payload jsonb cannot take), as opposed to being away, busy or in a broken session state,
   * after which the same rows are tried again.
   */
  static boolean refusesRows(SQLException e) {
    if (transientFailure(e)) {
      return false;
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException s && s.getSQLState() != null
          && (s.getSQLState().startsWith("22") || s.getSQLState().startsWith("23"))) {
        return true;
      }
    }
    return false;
  }

  /** The database is away or busy, as opposed to refusing these rows. */
  static boolean transientFailure(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLTransientException || t instanceof IOException) {
        return true;
      }
      if (t instanceof SQLException s && s.getSQLState() != null) {
        String state = s.getSQLState();
        if (state.startsWith("08") || state.startsWith("53") || state.startsWith("57") || state.startsWith("40")) {
          return true;
        }
      }
    }
    return false;
  }

  private void notStored(int n, String why) {
    unstored.increment(n);
    synchronized (incident) {
      failing(why);
      lostInIncident += n;
    }
  }

  private void failing(String why) {
    synchronized (incident) {
      if (failingSince != 0) {
        return;
      }
      failingSince = System.currentTimeMillis();
      LOG.warn("History storage is failing: {}. Broadcasts still go out live; what cannot be stored is counted in "
          + "realtime_history_unstored_total", why);
    }
  }

  private void recovered() {
    synchronized (incident) {
      if (failingSince != 0) {
        LOG.info("History storage works again after {} s; {} messages of that time were not stored",
            (System.currentTimeMillis() - failingSince) / 1000, lostInIncident);
        failingSince = 0;
        lostInIncident = 0;
      }
    }
  }

  // ---- reads

  /** The topic's newest {@code n} stored messages since {@code sinceMillis}, newest first. */
  CompletableFuture<List<Kept>> newest(TopicKey key, long sinceMillis, int n) {
    return read(COLUMNS + "ORDER BY inserted_at DESC, id DESC LIMIT ?", key, sinceMillis,
        ps -> ps.setInt(4, n));
  }

  /** The newest stored message of each of {@code events} since {@code sinceMillis}. */
  CompletableFuture<List<Kept>> latest(TopicKey key, Collection<String> events, long sinceMillis) {
    String sql = COLUMNS.replace("SELECT ", "SELECT DISTINCT ON (event) ")
        + "AND event = ANY(?) ORDER BY event, inserted_at DESC, id DESC";
    return read(sql, key, sinceMillis,
        ps -> ps.setArray(4, ps.getConnection().createArrayOf("text", events.toArray(String[]::new))));
  }

  private interface Binder {
    void bind(PreparedStatement ps) throws SQLException;
  }

  private CompletableFuture<List<Kept>> read(String sql, TopicKey key, long sinceMillis, Binder more) {
    return CompletableFuture.supplyAsync(() -> {
      List<Kept> out = new ArrayList<>();
      try (Connection c = db.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
        ps.setString(1, key.subTopic());
        ps.setBoolean(2, key.isPrivate());
        ps.setString(3, EpochMicros.sql(Math.multiplyExact(sinceMillis, 1000L)));
        more.bind(ps);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            byte[] binary = rs.getBytes(4);
            String json = rs.getString(3);
            String event = rs.getString(2) == null ? "" : rs.getString(2);
            byte[] payload = binary != null ? binary : (json == null ? "{}" : json).getBytes(StandardCharsets.UTF_8);
            out.add(new Kept(rs.getString(1), rs.getLong(5), event, payload, binary != null));
          }
        }
      } catch (SQLException e) {
        throw new HistoryUnavailable(e);
      }
      return out;
    }, readers);
  }

  /** Reading stored messages failed. */
  static final class HistoryUnavailable extends RuntimeException {
    HistoryUnavailable(SQLException e) {
      super("stored messages could not be read: " + e.getMessage(), e);
    }
  }

  /** Stores what is still queued (one attempt each, within a few seconds), then stops the writer. */
  @Override
  public void close() {
    closed = true;
    writer.shutdown();
    try {
      writer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while ((!queue.isEmpty() || !retry.isEmpty()) && System.nanoTime() < deadline) {
      List<Row> before = retry;
      flush();
      if (!retry.isEmpty() && retry == before) {
        break;
      }
    }
    int left = queue.size() + retry.size();
    if (left > 0) {
      unstored.increment(left);
      LOG.warn("Stopping with {} broadcasts of history topics not stored", left);
    }
  }
}
