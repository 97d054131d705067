package io.whatssound.realtime.operator.db;

import io.whatssound.realtime.operator.api.RealtimeClusterSpec;
import io.whatssound.realtime.operator.model.Hashing;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one owner connection per tenant database open between reconciles, so the periodic ones (slot lag,
 * partitions) do not each pay for a TCP, TLS and SCRAM handshake. A connection is lent to one reconcile at a time;
 * when the reconcile closes it, an open transaction is rolled back and the connection is kept for the next one, under
 * the same host, database, user and password (a changed password opens a new one). Kept connections are checked
 * before they are lent again and closed once idle for {@code idle}; {@link #evictIdle()} runs on the operator's
 * schedule and {@link #close()} at shutdown. Errors of opening are the wrapped connector's, unchanged.
 */
public final class ReusedConnections implements DatabaseConnector, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ReusedConnections.class);

  private final DatabaseConnector open;
  private final Clock clock;
  private final Duration idle;
  private final Map<String, Kept> kept = new ConcurrentHashMap<>();

  private record Kept(Connection connection, Instant since) {}

  public ReusedConnections(DatabaseConnector open, Clock clock, Duration idle) {
    this.open = open;
    this.clock = clock;
    this.idle = idle;
  }

  @Override
  public Connection connect(RealtimeClusterSpec.Database db, String user, String password, Optional<String> caPem)
      throws SQLException {
    String key = db.getHost() + ":" + db.getPort() + "/" + db.getName() + "?sslmode=" + db.getSslMode() + "&user="
        + user + "&password=" + Hashing.of(password) + "&ca=" + caPem.map(Hashing::of).orElse("");
    Kept k = kept.remove(key);
    if (k != null) {
      if (valid(k.connection())) {
        return lend(key, k.connection());
      }
      quietlyClose(k.connection());
    }
    return lend(key, open.connect(db, user, password, caPem));
  }

  private static boolean valid(Connection c) {
    try {
      return c.isValid(2);
    } catch (SQLException e) {
      return false;
    }
  }

  /** A view of {@code c} whose close gives it back instead of closing it. */
  private Connection lend(String key, Connection c) {
    boolean[] returned = {false};
    return (Connection) Proxy.newProxyInstance(ReusedConnections.class.getClassLoader(), new Class<?>[] {Connection.class},
        (proxy, method, args) -> {
          switch (method.getName()) {
            case "close" -> {
              if (!returned[0]) {
                returned[0] = true;
                giveBack(key, c);
              }
              return null;
            }
            case "isClosed" -> {
              return returned[0] || c.isClosed();
            }
            default -> {
              if (returned[0]) {
                throw new SQLException("connection already given back");
              }
              try {
                return method.invoke(c, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            }
          }
        });
  }

  private void giveBack(String key, Connection c) {
    try {
      if (c.isClosed()) {
        return;
      }
      if (!c.getAutoCommit()) {
        c.rollback();
        c.setAutoCommit(true);
      }
      Kept previous = kept.put(key, new Kept(c, clock.instant()));
      if (previous != null) {
        quietlyClose(previous.connection());
      }
    } catch (SQLException e) {
      LOG.debug("Closing a connection that could not be reset: {}", e.getMessage());
      quietlyClose(c);
    }
  }

  /** Closes the connections idle for longer than {@code idle}; returns how many. */
  public int evictIdle() {
    Instant cutoff = clock.instant().minus(idle);
    int closed = 0;
    for (Map.Entry<String, Kept> e : kept.entrySet()) {
      if (e.getValue().since().isBefore(cutoff) && kept.remove(e.getKey(), e.getValue())) {
        quietlyClose(e.getValue().connection());
        closed++;
      }
    }
    return closed;
  }

  /** How many connections are kept for later. */
  public int keptCount() {
    return kept.size();
  }

  @Override
  public void close() {
    kept.values().forEach(k -> quietlyClose(k.connection()));
    kept.clear();
  }

  private static void quietlyClose(Connection c) {
    try {
      c.close();
    } catch (SQLException e) {
      LOG.debug("Closing a kept connection failed: {}", e.getMessage());
    }
  }
}
