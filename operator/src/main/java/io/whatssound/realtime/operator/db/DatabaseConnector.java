package io.whatssound.realtime.operator.db;

import io.whatssound.realtime.operator.api.RealtimeClusterSpec;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/** Opens owner connections to a tenant's database; tests may point it elsewhere. */
@FunctionalInterface
public interface DatabaseConnector {
  Connection connect(RealtimeClusterSpec.Database db, String user, String password) throws SQLException;

  /** PgJDBC with short timeouts, so an unreachable database fails a reconcile quickly instead of hanging it. */
  static DatabaseConnector jdbc() {
    return (db, user, password) -> {
      Properties p = new Properties();
      p.setProperty("user", user);
      p.setProperty("password", password);
      p.setProperty("sslmode", db.getSslMode());
      p.setProperty("connectTimeout", "5");
      p.setProperty("loginTimeout", "10");
      p.setProperty("socketTimeout", "60");
      p.setProperty("ApplicationName", "realtime-operator");
      return DriverManager.getConnection(
          "jdbc:postgresql://" + db.getHost() + ":" + db.getPort() + "/" + db.getName(), p);
    };
  }
}
