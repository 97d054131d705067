package io.whatssound.realtime.runtime.cdc;

import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseContract;
import io.whatssound.realtime.postgres.DatabaseUrl;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams the tenant's slot with pgoutput (protocol 2) on its own thread. Each message goes to the
 * {@link Sink}; a transaction's end position is acknowledged only after the sink handled its commit,
 * and when idle the stream acknowledges the server's keepalive position so the slot does not pin WAL.
 * A lost connection, a PostgreSQL restart or a slot held by another process (another pod) lead to a
 * reconnect with backoff, resuming from the slot's confirmed position.
 */
public final class ReplicationStream implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicationStream.class);
  static final Duration MIN_BACKOFF = Duration.ofMillis(250);
  static final Duration MAX_BACKOFF = Duration.ofSeconds(10);
  /**
   * How often the stream reports its position. Also how soon a lost connection shows: PgJDBC's non-blocking read takes
   * a closed socket for an idle one, so only a write finds out (a restarted database held changes back by two
   * intervals at 5 s).
   */
  static final Duration STATUS_INTERVAL = Duration.ofSeconds(1);
  /** How often a standby looks whether the pod holding the slot still does. */
  static final Duration STANDBY_POLL = Duration.ofMillis(200);

  /** Receives decoded messages on the stream thread, in order. */
  public interface Sink {
    /** The stream is connected (true) or lost (false). */
    void live(boolean live);

    /** One pgoutput message. */
    void message(PgOutputMessage message);
  }

  private final DatabaseUrl url;
  private final ContractSettings contract;
  private final boolean createSlot;
  private final Sink sink;
  private final BooleanSupplier heldElsewhere;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile Connection connection;

  /** A stream that always tries to take the slot (one pod, or no way to know whether another pod holds it). */
  public ReplicationStream(DatabaseUrl url, ContractSettings contract, boolean createSlot, Sink sink) {
    this(url, contract, createSlot, sink, () -> false);
  }

  /**
   * {@code heldElsewhere}: whether another pod of the tenant's cluster holds the slot now. While it does, this stream
   * waits without connecting: a standby that asked for the slot would only be refused ("replication slot ... is active
   * for PID ..."), an error in the server's log and a WAL sender taken each time. It tries again as soon as no pod
   * holds it.
   */
  public ReplicationStream(DatabaseUrl url, ContractSettings contract, boolean createSlot, Sink sink,
      BooleanSupplier heldElsewhere) {
    this.url = url;
    this.contract = contract;
    this.createSlot = createSlot;
    this.sink = sink;
    this.heldElsewhere = heldElsewhere;
    this.thread = new Thread(this::run, "replication-" + contract.slot());
    this.thread.setDaemon(true);
  }

  public ReplicationStream start() {
    thread.start();
    return this;
  }

  private void run() {
    Duration backoff = MIN_BACKOFF;
    boolean waiting = false;
    while (running) {
      if (heldElsewhere.getAsBoolean()) {
        if (!waiting) {
          LOG.info("Slot {} is held by another pod of the cluster; standing by", contract.slot());
          waiting = true;
        }
        sleep(STANDBY_POLL.toMillis());
        backoff = MIN_BACKOFF;
        continue;
      }
      waiting = false;
      try {
        stream();
        backoff = MIN_BACKOFF;
      } catch (SQLException e) {
        if (!running) {
          break;
        }
        sink.live(false);
        String state = e.getSQLState();
        if ("55006".equals(state)) {
          LOG.info("Slot {} is held by another process; waiting to take it over", contract.slot());
        } else if ("42704".equals(state)) {
          LOG.warn("Slot {} does not exist yet; waiting for it to be provisioned", contract.slot());
        } else {
          LOG.warn("Replication stream of slot {} lost ({}: {}); reconnecting in {} ms",
              contract.slot(), state, e.getMessage(), backoff.toMillis());
        }
      } catch (RowSecurity.Unavailable e) {
        sink.live(false);
        LOG.warn("Replication stream of slot {} paused: {}; resuming from the slot in {} ms",
            contract.slot(), e.getMessage(), backoff.toMillis());
      } catch (RuntimeException e) {
        sink.live(false);
        LOG.error("Replication stream of slot {} failed; reconnecting in {} ms", contract.slot(), backoff.toMillis(), e);
      } finally {
        closeConnection();
      }
      sleep(backoff.toMillis() / 2 + ThreadLocalRandom.current().nextLong(backoff.toMillis() / 2 + 1));
      backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
    }
  }

  /** How long after a message the stream keeps polling closely. */
  private static final long ACTIVE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  private static final long ACTIVE_POLL_NANOS = TimeUnit.MICROSECONDS.toNanos(200);
  private static final long IDLE_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

  private void stream() throws SQLException {
    Properties props = url.properties();
    PGProperty.REPLICATION.set(props, "database");
    PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "14");
    PGProperty.PREFER_QUERY_MODE.set(props, "simple");
    PGProperty.TCP_KEEP_ALIVE.set(props, true);
    PGProperty.CONNECT_TIMEOUT.set(props, 10);
    PGProperty.APPLICATION_NAME.set(props, "realtime-replication");
    Connection c = DriverManager.getConnection(url.jdbcUrl(), props);
    connection = c;
    if (createSlot) {
      DatabaseContract.ensureSlot(c, contract.slot());
    }
    PGReplicationStream stream =
        c.unwrap(PGConnection.class)
            .getReplicationAPI()
            .replicationStream()
            .logical()
            .withSlotName(contract.slot())
            .withSlotOption("proto_version", "2")
            .withSlotOption("publication_names",
                "\"" + contract.publication() + "\",\"" + ContractSettings.MESSAGES_PUBLICATION + "\"")
            .withSlotOption("messages", "true")
            .withStatusInterval((int) STATUS_INTERVAL.toMillis(), TimeUnit.MILLISECONDS)
            .start();
    LOG.info("Streaming changes from slot {} (publication {})", contract.slot(), contract.publication());
    sink.live(true);
    boolean inTransaction = false;
    long lastMessage = System.nanoTime();
    while (running) {
      ByteBuffer buf = stream.readPending();
      if (buf == null) {
        if (!inTransaction) {
          LogSequenceNumber received = stream.getLastReceiveLSN();
          stream.setAppliedLSN(received);
          stream.setFlushedLSN(received);
        }
        // poll closely while changes flow, so the next one waits ~0.2 ms instead of up to 5 ms; back off
        // when the slot has been quiet for a while
        boolean active = System.nanoTime() - lastMessage < ACTIVE_NANOS;
        LockSupport.parkNanos(active ? ACTIVE_POLL_NANOS : IDLE_POLL_NANOS);
        continue;
      }
      lastMessage = System.nanoTime();
      PgOutputMessage m;
      try {
        m = PgOutputDecoder.decode(buf);
      } catch (PgOutputException e) {
        throw new IllegalStateException("undecodable pgoutput message: " + e.getMessage(), e);
      }
      if (m instanceof PgOutputMessage.Begin) {
        inTransaction = true;
      }
      sink.message(m);
      if (m instanceof PgOutputMessage.Commit commit) {
        inTransaction = false;
        LogSequenceNumber end = LogSequenceNumber.valueOf(commit.endLsn());
        stream.setAppliedLSN(end);
        stream.setFlushedLSN(end);
      }
    }
  }

  private void closeConnection() {
    Connection c = connection;
    connection = null;
    if (c != null) {
      try {
        c.close();
      } catch (SQLException e) {
        LOG.debug("closing the replication connection: {}", e.getMessage());
      }
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    running = false;
    closeConnection();
    thread.interrupt();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    sink.live(false);
  }
}
