package io.whatssound.realtime.runtime.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseContract;
import io.whatssound.realtime.postgres.DatabaseUrl;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.postgres.PartitionMaintainer;
import io.whatssound.realtime.runtime.config.DatabaseSettings;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runtime's database: an embedded server in standalone mode, a small connection pool for queries,
 * a thread pool for blocking JDBC work (never the event loops), and — when the runtime provisions —
 * the database contract and the daily partition maintenance.
 */
public final class RuntimeDatabase implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RuntimeDatabase.class);
  private static final Duration RETRY = Duration.ofSeconds(15);
  /** How often a pod that has not reached its database yet tries again. */
  static final Duration PROBE = Duration.ofSeconds(2);

  private final DatabaseSettings settings;
  private final Optional<EmbeddedDatabase> embedded;
  private final HikariDataSource pool;
  private final ExecutorService executor;
  private final ScheduledExecutorService scheduler;
  private final PartitionMaintainer maintainer;
  private final Clock clock;
  private final CompletableFuture<Void> reached = new CompletableFuture<>();
  private volatile String unreached = "not tried yet";

  private RuntimeDatabase(DatabaseSettings settings, Optional<EmbeddedDatabase> embedded, Clock clock) {
    this.settings = settings;
    this.embedded = embedded;
    this.pool = pool(settings.queryUrl());
    this.executor = Executors.newFixedThreadPool(4, named("db"));
    this.scheduler = Executors.newSingleThreadScheduledExecutor(named("db-maintenance"));
    this.maintainer = new PartitionMaintainer(clock, settings.contract().slot());
    this.clock = clock;
  }

  /** Starts the embedded database if asked, opens the pool and, when provisioning, applies the contract. */
  public static RuntimeDatabase start(DatabaseSettings settings, Clock clock) throws IOException {
    Optional<EmbeddedDatabase> embedded = Optional.empty();
    DatabaseSettings s = settings;
    if (settings.mode() == DatabaseSettings.Mode.EMBEDDED) {
      EmbeddedDatabase db = EmbeddedDatabase.start(settings.embeddedPort(), Optional.empty());
      embedded = Optional.of(db);
      s = settings.withUrl(DatabaseUrl.parse(db.postgresUrl()));
      System.out.println(
          String.join("\n",
              "Embedded PostgreSQL (standalone mode; its data is gone when the runtime stops):",
              "  psql " + db.postgresUrl(),
              "  publish a table: alter publication " + settings.contract().publication() + " add table public.<table>;",
              ""));
    }
    RuntimeDatabase rdb = new RuntimeDatabase(s, embedded, clock);
    rdb.scheduler.execute(rdb::probe);
    if (s.provision()) {
      rdb.scheduler.execute(rdb::provision);
    }
    return rdb;
  }

  private static HikariDataSource pool(DatabaseUrl url) {
    HikariConfig c = new HikariConfig();
    c.setPoolName("realtime-queries");
    c.setJdbcUrl(url.jdbcUrl());
    c.setDataSourceProperties(url.properties());
    // the query pool usually goes through PgBouncer in transaction mode, where a statement prepared on one server
    // connection is unknown on the next ("prepared statement S_5 does not exist"): unnamed statements only
    if (!url.properties().containsKey("prepareThreshold")) {
      c.addDataSourceProperty("prepareThreshold", "0");
    }
    c.setMaximumPoolSize(4);
    c.setMinimumIdle(1);
    c.setConnectionTimeout(5_000);
    c.setInitializationFailTimeout(-1);
    return new HikariDataSource(c);
  }

  private static ThreadFactory named(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** Applies the contract and creates the slot, then keeps partitions rolling; retries while the database is down. */
  private void provision() {
    ContractSettings c = settings.contract();
    try (Connection conn = settings.url().orElseThrow().connect()) {
      DatabaseContract.apply(conn, c);
      DatabaseContract.ensureSlot(conn, c.slot());
      if (embedded.isPresent()) {
        // like a new Supabase project: tables created in public are readable by the API roles (RLS decides rows)
        try (Statement s = conn.createStatement()) {
          s.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role");
          s.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role");
          s.execute("GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role");
        }
      }
      maintainPartitions();
    } catch (SQLException e) {
      LOG.error("Could not provision the database {} ({}); retrying in {} s. Check REALTIME_DB_URL and that the role "
          + "may create schemas, publications and replication slots, or set REALTIME_DB_PROVISION=false if the "
          + "operator provisions it.", settings.url().orElseThrow(), e.getMessage(), RETRY.toSeconds());
      scheduler.schedule(this::provision, RETRY.toSeconds(), TimeUnit.SECONDS);
    }
  }

  private void maintainPartitions() {
    try (Connection conn = pool.getConnection()) {
      PartitionMaintainer.Report r = maintainer.maintain(conn, settings.contract());
      LOG.debug("Partitions: {} from {} to {}", r.count(), r.oldest().orElse(null), r.newest().orElse(null));
      long delay = Math.max(1, maintainer.nextRun().toEpochMilli() - clock.millis());
      scheduler.schedule(this::maintainPartitions, delay, TimeUnit.MILLISECONDS);
    } catch (SQLException e) {
      LOG.warn("Partition maintenance failed ({}); retrying in {} s", e.getMessage(), RETRY.toSeconds());
      scheduler.schedule(this::maintainPartitions, RETRY.toSeconds(), TimeUnit.SECONDS);
    }
  }

  /**
   * One query with the runtime's own credentials, through the pool (so through PgBouncer where the operator runs
   * one), every {@link #PROBE} until the database answers once.
   */
  private void probe() {
    try (Connection c = pool.getConnection(); Statement st = c.createStatement()) {
      st.execute("SELECT 1");
      reached.complete(null);
      LOG.info("Database {} answers with this runtime's credentials", settings.queryUrl());
    } catch (SQLException e) {
      // the pool wraps the driver's refusal (e.g. "password authentication failed for user ..."): say that
      Throwable cause = e.getCause() instanceof SQLException driver ? driver : e;
      unreached = cause.getMessage();
      LOG.warn("Database {} does not answer yet ({}); this pod stays unready until it does", settings.queryUrl(),
          unreached);
      scheduler.schedule(this::probe, PROBE.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Empty once the database has answered this runtime's credentials (it has since it started); otherwise why not yet.
   * Later outages do not count: they are the stream's and the queries' to report and retry.
   */
  public Optional<String> notReached() {
    return reached.isDone() ? Optional.empty() : Optional.of(unreached);
  }

  public DatabaseSettings settings() {
    return settings;
  }

  /** Pooled connections for queries. */
  public DataSource queries() {
    return pool;
  }

  /** Where blocking database work runs. */
  public ExecutorService executor() {
    return executor;
  }

  /** The direct connection the replication stream uses. */
  public DatabaseUrl replicationUrl() {
    return settings.url().orElseThrow();
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
    executor.shutdownNow();
    pool.close();
    embedded.ifPresent(
        db -> {
          try {
            db.close();
          } catch (IOException e) {
            LOG.warn("Embedded PostgreSQL did not stop cleanly: {}", e.getMessage());
          }
        });
  }
}
