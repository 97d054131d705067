package io.whatssound.realtime.operator.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whatssound.realtime.operator.api.RealtimeClusterSpec;
import io.whatssound.realtime.postgres.TestClock;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One owner connection per tenant database, lent to one reconcile at a time and closed when idle. */
class ReusedConnectionsTest {
  /** A connection that records what was done to it. */
  static final class Fake {
    final List<String> calls = new ArrayList<>();
    boolean closed;
    boolean valid = true;
    boolean autoCommit = true;
    final Connection connection = (Connection) Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {Connection.class}, (proxy, m, args) -> {
          calls.add(m.getName());
          return switch (m.getName()) {
            case "close" -> {
              closed = true;
              yield null;
            }
            case "isClosed" -> closed;
            case "isValid" -> valid && !closed;
            case "getAutoCommit" -> autoCommit;
            case "setAutoCommit" -> {
              autoCommit = (Boolean) args[0];
              yield null;
            }
            default -> null;
          };
        });
  }

  private final List<Fake> opened = new ArrayList<>();
  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final ReusedConnections pool = new ReusedConnections((db, user, password, ca) -> {
    Fake f = new Fake();
    opened.add(f);
    return f.connection;
  }, clock, Duration.ofMinutes(5));

  private static RealtimeClusterSpec.Database db(String name) {
    RealtimeClusterSpec.Database d = new RealtimeClusterSpec.Database();
    d.setHost("db.example");
    d.setName(name);
    return d;
  }

  @Test
  void aReturnedConnectionServesTheNextReconcileOfTheSameTenant() throws SQLException {
    try (Connection c = pool.connect(db("party"), "owner", "pw")) {
      c.createStatement();
    }
    try (Connection c = pool.connect(db("party"), "owner", "pw")) {
      c.createStatement();
    }
    assertEquals(1, opened.size());
    pool.connect(db("other"), "owner", "pw").close();
    pool.connect(db("party"), "owner", "new password").close();
    assertEquals(3, opened.size(), "another database or another password opens its own");
  }

  @Test
  void aLentConnectionIsGoneForItsBorrowerAndATransactionLeftOpenIsRolledBack() throws SQLException {
    Connection c = pool.connect(db("party"), "owner", "pw");
    c.setAutoCommit(false);
    c.close();
    Fake f = opened.get(0);
    assertTrue(f.calls.contains("rollback"), f.calls.toString());
    assertTrue(f.autoCommit);
    assertTrue(c.isClosed());
    assertThrows(SQLException.class, c::createStatement, "the borrower cannot use it after giving it back");
    Connection again = pool.connect(db("party"), "owner", "pw");
    Connection other = pool.connect(db("party"), "owner", "pw");
    assertEquals(2, opened.size(), "one reconcile at a time per connection");
    again.close();
    other.close();
    assertEquals(1, pool.keptCount());
    assertTrue(opened.get(0).closed || opened.get(1).closed, "only one is kept");
  }

  @Test
  void idleOrBrokenConnectionsAreClosed() throws SQLException {
    pool.connect(db("party"), "owner", "pw").close();
    clock.advance(Duration.ofMinutes(4));
    assertEquals(0, pool.evictIdle());
    clock.advance(Duration.ofMinutes(2));
    assertEquals(1, pool.evictIdle());
    assertTrue(opened.get(0).closed);

    pool.connect(db("party"), "owner", "pw").close();
    opened.get(1).valid = false; // the database restarted meanwhile
    pool.connect(db("party"), "owner", "pw").close();
    assertTrue(opened.get(1).closed);
    assertEquals(3, opened.size());
    pool.close();
    assertTrue(opened.get(2).closed, "shutdown closes what is kept");
  }
}
