package io.whatssound.realtime.operator.db;

import io.whatssound.realtime.operator.api.RealtimeClusterSpec;
import io.whatssound.realtime.postgres.DatabaseCa;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Optional;
import java.util.Properties;

/** Opens owner connections to a tenant's database; tests may point it elsewhere. */
@FunctionalInterface
public interface DatabaseConnector {
  /**
   * A connection as {@code user}, verifying the server against {@code caPem} (PEM CA certificates, from
   * {@code database.caSecret}) when given.
   */
  Connection connect(RealtimeClusterSpec.Database db, String user, String password, Optional<String> caPem)
      throws SQLException;

  /** A connection trusting the system's certificate authorities. */
  default Connection connect(RealtimeClusterSpec.Database db, String user, String password) throws SQLException {
    return connect(db, user, password, Optional.empty());
  }

  /** PgJDBC with short timeouts, so an unreachable database fails a reconcile quickly instead of hanging it. */
  static DatabaseConnector jdbc() {
    return (db, user, password, caPem) -> {
      Properties p = new Properties();
      p.setProperty("user", user);
      p.setProperty("password", password);
      p.setProperty("sslmode", db.getSslMode());
      if (caPem.isPresent()) {
        try {
          p.setProperty("sslrootcert", DatabaseCa.file(caPem.get()).toString());
        } catch (IllegalArgumentException | UncheckedIOException e) {
          // a CA that is not PEM (or cannot be written) is a connection the database never sees: say which setting
          throw new SQLException("database.caSecret: " + e.getMessage(), "08000");
        }
      }
      p.setProperty("connectTimeout", "5");
      p.setProperty("loginTimeout", "10");
      p.setProperty("socketTimeout", "60");
      p.setProperty("ApplicationName", "realtime-operator");
      return DriverManager.getConnection(
          "jdbc:postgresql://" + db.getHost() + ":" + db.getPort() + "/" + db.getName(), p);
    };
  }
}
