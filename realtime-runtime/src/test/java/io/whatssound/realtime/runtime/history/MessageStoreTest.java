package io.whatssound.realtime.runtime.history;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseContract;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.postgres.TestClock;
import io.whatssound.realtime.runtime.config.HistorySettings;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.EpochMicros;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.io.PrintWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Batched storing and the reads of history, on a real PostgreSQL. */
class MessageStoreTest {
  private static EmbeddedDatabase db;
  private static final Executor DIRECT = Runnable::run;
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final TopicKey party = TopicKey.ofSubTopic("party:" + UUID.randomUUID(), false);

  @BeforeAll
  static void database() throws Exception {
    db = EmbeddedDatabase.start(0, Optional.empty());
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      DatabaseContract.apply(c, ContractSettings.defaults());
      // what the operator's (or the standalone runtime's) partition maintenance does
      s.execute("SELECT realtime.ensure_partition((timezone('utc', now()) + d * interval '1 day')::date) "
          + "FROM generate_series(-1, 1) AS d");
    }
  }

  @AfterAll
  static void stopDatabase() throws Exception {
    db.close();
  }

  /** The database, or, while {@code down} is set, a database that cannot be reached. */
  private static DataSource source(AtomicBoolean down) {
    return new DataSource() {
      @Override
      public Connection getConnection() throws SQLException {
        if (down.get()) {
          throw new SQLTransientConnectionException("connection refused");
        }
        return db.connect();
      }

      @Override
      public Connection getConnection(String user, String password) throws SQLException {
        return getConnection();
      }

      @Override
      public PrintWriter getLogWriter() {
        return null;
      }

      @Override
      public void setLogWriter(PrintWriter out) {}

      @Override
      public void setLoginTimeout(int seconds) {}

      @Override
      public int getLoginTimeout() {
        return 0;
      }

      @Override
      public Logger getParentLogger() {
        return Logger.getGlobal();
      }

      @Override
      public <T> T unwrap(Class<T> iface) {
        throw new UnsupportedOperationException();
      }

      @Override
      public boolean isWrapperFor(Class<?> iface) {
        return false;
      }
    };
  }

  private static Kept chat(int seq, long atMicros) {
    return new Kept(UUID.randomUUID().toString(), atMicros, "chat",
        ("{\"seq\":" + seq + "}").getBytes(StandardCharsets.UTF_8), false);
  }

  private double counter(String name) {
    return meters.get(name).counter().count();
  }

  private int rows(TopicKey key) throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM realtime.messages WHERE topic = '" + key.subTopic() + "'")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  @Test
  void oneBatchStoresEveryQueuedMessageWithItsIdAndMicrosecondTime() throws Exception {
    MessageStore store = new MessageStore(source(new AtomicBoolean()), DIRECT, Duration.ofMillis(100), meters);
    long at = EpochMicros.of(Instant.now());
    Kept first = chat(0, at);
    store.offer(party, first);
    for (int i = 1; i < 300; i++) {
      store.offer(party, chat(i, at + i));
    }
    byte[] bin = {0, 1, 2, (byte) 255};
    Kept binary = new Kept(UUID.randomUUID().toString(), at + 300, "blob", bin, true);
    store.offer(party, binary);
    store.flush();
    assertEquals(301, rows(party));
    assertEquals(301, counter("realtime_history_stored"));
    assertEquals(1, meters.get("realtime_history_batch_rows").summary().count(), "one batch");

    List<Kept> newest = store.newest(party, at / 1000, 2).join();
    assertEquals(2, newest.size());
    assertEquals(binary.id(), newest.get(0).id());
    assertEquals(at + 300, newest.get(0).at(), "inserted_at keeps the microseconds");
    assertTrue(newest.get(0).binary());
    assertEquals(List.of((byte) 0, (byte) 1, (byte) 2, (byte) 255),
        List.of(newest.get(0).payload()[0], newest.get(0).payload()[1], newest.get(0).payload()[2],
            newest.get(0).payload()[3]));
    assertEquals(299, Json.MAPPER.readTree(newest.get(1).payload()).get("seq").asInt());
    assertEquals(List.of(), store.newest(TopicKey.ofSubTopic(party.subTopic(), true), at / 1000, 5).join(),
        "a public topic's rows are not a private channel's");
    store.close();
  }

  @Test
  void whileTheDatabaseIsAwayTheBatchWaitsAndWhatDoesNotFitIsCounted() throws Exception {
    AtomicBoolean down = new AtomicBoolean(true);
    MessageStore store = new MessageStore(source(down), DIRECT, Duration.ofMillis(100), meters, 5);
    long at = EpochMicros.of(Instant.now());
    for (int i = 0; i < 5; i++) {
      store.offer(party, chat(i, at + i));
    }
    store.flush(); // fails: the five are kept for the next attempt, the queue is empty again
    for (int i = 5; i < 12; i++) {
      store.offer(party, chat(i, at + i));
    }
    assertEquals(2, counter("realtime_history_unstored"), "five kept, five queued, two did not fit");
    store.flush();
    assertEquals(0, rows(party));
    down.set(false);
    store.flush();
    store.flush();
    assertEquals(10, rows(party), "the kept batch first, then the queue");
    assertEquals(10, counter("realtime_history_stored"));
    store.close();
  }

  @Test
  void aMessageTheDatabaseRefusesIsCountedAndTheRestOfItsBatchIsStored() throws Exception {
    MessageStore store = new MessageStore(source(new AtomicBoolean()), DIRECT, Duration.ofMillis(100), meters);
    long at = EpochMicros.of(Instant.now());
    store.offer(party, chat(1, at));
    // valid JSON that jsonb cannot hold
    store.offer(party, new Kept(UUID.randomUUID().toString(), at + 1, "chat",
        "{\"text\":\"\\u0000\"}".getBytes(StandardCharsets.UTF_8), false));
    store.offer(party, chat(3, at + 2));
    store.flush();
    assertEquals(2, rows(party));
    assertEquals(1, counter("realtime_history_unstored"));
    assertEquals(2, counter("realtime_history_stored"));
    store.close();
  }

  @Test
  void aBatchLostToAPoolersSessionIsTriedAgainNotDropped() throws Exception {
    // PgBouncer in transaction mode, a statement prepared on another server connection: the first try fails
    AtomicBoolean once = new AtomicBoolean(true);
    DataSource real = source(new AtomicBoolean());
    DataSource pooler = (DataSource) Proxy.newProxyInstance(DataSource.class.getClassLoader(),
        new Class<?>[] {DataSource.class}, (ds, m, args) -> {
          Object result = invoke(m, real, args);
          if (!m.getName().equals("getConnection")) {
            return result;
          }
          Connection c = (Connection) result;
          return Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
              (conn, cm, cargs) -> {
                if (cm.getName().equals("prepareStatement") && once.getAndSet(false)) {
                  throw new SQLException("ERROR: prepared statement \"S_5\" does not exist", "26000");
                }
                return invoke(cm, c, cargs);
              });
        });
    MessageStore store = new MessageStore(pooler, DIRECT, Duration.ofMillis(100), meters);
    long at = EpochMicros.of(Instant.now());
    store.offer(party, chat(1, at));
    store.flush();
    assertEquals(0, rows(party));
    store.flush();
    assertEquals(1, rows(party), "stored on the next try");
    assertEquals(0, counter("realtime_history_unstored"), "nothing counted lost");
    store.close();
  }

  private static Object invoke(Method m, Object target, Object[] args) throws Throwable {
    try {
      return m.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  @Test
  void onlyDataAndIntegrityErrorsRefuseRows() {
    assertTrue(MessageStore.refusesRows(new SQLException("unsupported Unicode escape sequence", "22P05")));
    assertTrue(MessageStore.refusesRows(new SQLException("duplicate key", "23505")));
    assertFalse(MessageStore.refusesRows(new SQLException("prepared statement does not exist", "26000")));
    assertFalse(MessageStore.refusesRows(new SQLException("current transaction is aborted", "25P02")));
    assertFalse(MessageStore.refusesRows(new SQLException("connection refused", "08001")));
    assertFalse(MessageStore.refusesRows(new SQLException("no state")));
  }

  @Test
  void theLatestOfEachEventComesFromTheRows() throws Exception {
    MessageStore store = new MessageStore(source(new AtomicBoolean()), DIRECT, Duration.ofMillis(100), meters);
    long at = EpochMicros.of(Instant.now());
    for (int i = 0; i < 3; i++) {
      store.offer(party, new Kept(UUID.randomUUID().toString(), at + i, "playback:sync",
          ("{\"pos\":" + i + "}").getBytes(StandardCharsets.UTF_8), false));
    }
    store.offer(party, chat(9, at + 5));
    store.flush();
    List<Kept> latest = store.latest(party, Set.of("playback:sync", "now_playing"), at / 1000 - 1000).join();
    assertEquals(1, latest.size());
    assertEquals(2, Json.MAPPER.readTree(latest.get(0).payload()).get("pos").asInt());

    History history = new History(new HistorySettings(List.of("party:*"), Duration.ofHours(1), Duration.ofMillis(100),
        100, Set.of("playback:sync")), new TestClock(Instant.now()), Optional.of(store));
    List<Kept> fromHistory = history.latest(party).join();
    assertEquals(latest.get(0).id(), fromHistory.get(0).id(), "a pod that saw nothing asks the database");
    History.Replay replay = history.replay(party, at / 1000 - 1, 100).join();
    assertTrue(replay.complete());
    assertEquals(4, replay.messages().size(), "a pod with an empty memory replays from the database");
    assertFalse(history.replay(party, at / 1000 - 1, 3).join().complete());
    store.close();
  }
}
