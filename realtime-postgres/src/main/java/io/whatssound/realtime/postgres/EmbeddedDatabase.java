package io.whatssound.realtime.postgres;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * A PostgreSQL server from Maven (no installation, no Docker) configured for logical replication:
 * the standalone runtime's default database and the tests' real database.
 */
public final class EmbeddedDatabase implements AutoCloseable {
  public static final String USER = "postgres";
  public static final String PASSWORD = "postgres";
  private final EmbeddedPostgres pg;

  private EmbeddedDatabase(EmbeddedPostgres pg) {
    this.pg = pg;
  }

  /**
   * Starts a server. {@code port} 0 picks a free one; {@code dataDir} keeps data across restarts when given.
   */
  public static EmbeddedDatabase start(int port, Optional<Path> dataDir) throws IOException {
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
            .setPGStartupWait(java.time.Duration.ofSeconds(60));
    if (port > 0) {
      b.setPort(port);
    }
    dataDir.ifPresent(d -> b.setDataDirectory(d.toFile()).setCleanDataDirectory(false));
    return new EmbeddedDatabase(b.start());
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

  @Override
  public void close() throws IOException {
    pg.close();
  }
}
