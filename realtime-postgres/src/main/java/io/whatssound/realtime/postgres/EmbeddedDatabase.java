package io.whatssound.realtime.postgres;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;

/**
 * A PostgreSQL server from Maven (no installation, no Docker) configured for logical replication:
 * the standalone runtime's default database and the tests' real database.
 */
public final class EmbeddedDatabase implements AutoCloseable {
  public static final String USER = "postgres";
  public static final String PASSWORD = "postgres";
  private final EmbeddedPostgres pg;

  private final Optional<Path> dataDir;

  private EmbeddedDatabase(EmbeddedPostgres pg, Optional<Path> dataDir) {
    this.pg = pg;
    this.dataDir = dataDir;
  }

  /**
   * Starts a server. {@code port} 0 picks a free one; {@code dataDir} keeps data across restarts when given.
   */
  public static EmbeddedDatabase start(int port, Optional<Path> dataDir) throws IOException {
    return start(port, dataDir, Map.of());
  }

  /** Like {@link #start(int, Optional)}, with more server settings (e.g. {@code ssl}). */
  public static EmbeddedDatabase start(int port, Optional<Path> dataDir, Map<String, String> settings)
      throws IOException {
    EmbeddedPostgres.Builder b =
        EmbeddedPostgres.builder()
            .setServerConfig("wal_level", "logical")
            .setServerConfig("max_replication_slots", "20")
            .setServerConfig("max_wal_senders", "20")
            .setServerConfig("max_slot_wal_keep_size", "1GB")
            .setServerConfig("wal_sender_timeout", "60s")
            .setServerConfig("timezone", "UTC")
            .setServerConfig("max_connections", "200")
            .setServerConfig("fsync", "off")
            .setPGStartupWait(Duration.ofSeconds(60));
    settings.forEach(b::setServerConfig);
    if (port > 0) {
      b.setPort(port);
    }
    dataDir.ifPresent(d -> b.setDataDirectory(d.toFile()).setCleanDataDirectory(false));
    return new EmbeddedDatabase(b.start(), dataDir);
  }

  public int port() {
    return pg.getPort();
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port() + "/postgres";
  }

  public String postgresUrl() {
    return "postgres://" + USER + ":" + PASSWORD + "@127.0.0.1:" + port() + "/postgres";
  }

  public DataSource dataSource() {
    return pg.getPostgresDatabase();
  }

  public Connection connect() throws SQLException {
    return pg.getPostgresDatabase().getConnection();
  }

  /**
   * Stops the server. With a data folder of the caller's (one that outlives the server), it returns only once the
   * server is gone: {@code pg_ctl stop} gives up after 5 s while the server may still be finishing a fast shutdown
   * (a WAL sender waits for its replication client), and a new server on that folder would find its lock file.
   */
  @Override
  public void close() throws IOException {
    pg.close();
    if (dataDir.isPresent()) {
      Path lock = dataDir.get().resolve("postmaster.pid");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (Files.exists(lock)) {
        if (System.nanoTime() > deadline) {
          throw new IOException("PostgreSQL in " + dataDir.get() + " did not stop within 60 s (" + lock + " remains)");
        }
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while waiting for PostgreSQL to stop", e);
        }
      }
    }
  }
}
