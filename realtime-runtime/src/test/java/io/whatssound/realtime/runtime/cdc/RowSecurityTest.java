package io.whatssound.realtime.runtime.cdc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseContract;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.runtime.channel.SocketLink;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.channel.TopicRegistry;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.Vsn;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Row security against a real PostgreSQL: rows by policy and claims, refused roles, and a transaction
 * whose commit is in the WAL but not yet visible to other sessions (its rows are waited for, not taken
 * for hidden ones).
 */
class RowSecurityTest {
  private static EmbeddedDatabase db;
  private static RowSecurity security;
  /** Every check runs on this one session, so what a check leaves behind would show in the next. */
  private static Connection shared;

  /** A data source that always lends the same session and ignores its borrowers' close. */
  private static DataSource oneConnection(Connection c) {
    Connection lent = (Connection) Proxy.newProxyInstance(RowSecurityTest.class.getClassLoader(),
        new Class<?>[] {Connection.class}, (proxy, m, args) -> {
          if (m.getName().equals("close")) {
            return null;
          }
          try {
            return m.invoke(c, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
    return (DataSource) Proxy.newProxyInstance(RowSecurityTest.class.getClassLoader(),
        new Class<?>[] {DataSource.class}, (proxy, m, args) -> {
          if (m.getName().equals("getConnection")) {
            return lent;
          }
          throw new UnsupportedOperationException(m.getName());
        });
  }

  @BeforeAll
  static void start() throws Exception {
    db = EmbeddedDatabase.start(0, Optional.empty());
    try (Connection c = db.connect()) {
      DatabaseContract.apply(c, ContractSettings.defaults());
    }
    exec("CREATE TABLE public.notes (id int PRIMARY KEY, owner text NOT NULL, body text)");
    exec("ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY");
    exec("GRANT SELECT ON public.notes TO anon, authenticated");
    exec("CREATE POLICY own ON public.notes FOR SELECT TO authenticated USING (owner = auth.uid()::text)");
    exec("CREATE POLICY open ON public.notes FOR SELECT TO anon USING (owner = 'public')");
    exec("INSERT INTO public.notes VALUES (1, '00000000-0000-0000-0000-00000000000a', 'a'), "
        + "(2, '00000000-0000-0000-0000-00000000000b', 'b'), (3, 'public', 'p')");
    shared = db.connect();
    exec("CREATE TABLE public.plays (played_at timestamp PRIMARY KEY, amount numeric NOT NULL)");
    exec("ALTER TABLE public.plays ENABLE ROW LEVEL SECURITY");
    exec("GRANT SELECT ON public.plays TO anon");
    exec("CREATE POLICY big ON public.plays FOR SELECT TO anon USING (amount >= 10)");
    exec("INSERT INTO public.plays VALUES ('2026-01-02 03:04:05.5', 12.50), ('2026-01-02 03:04:06', 1)");
    security = new RowSecurity(oneConnection(shared), Clock.systemUTC());
  }

  @AfterAll
  static void stop() throws Exception {
    shared.close();
    db.close();
  }

  private static void exec(String sql) throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static VerifiedToken user(String role, String sub) {
    Map<String, Object> claims = new LinkedHashMap<>();
    claims.put("role", role);
    if (sub != null) {
      claims.put("sub", sub);
    }
    return new VerifiedToken("token-" + role + "-" + sub, role, Instant.parse("2099-01-01T00:00:00Z"), claims);
  }

  private static Set<List<String>> visible(VerifiedToken who, int... ids) {
    List<List<String>> keys = new ArrayList<>();
    for (int id : ids) {
      keys.add(List.of(Integer.toString(id)));
    }
    return security.visible(who, "public", "notes", List.of("id"), Map.of("id", "int4"), keys);
  }

  /** The run that sets {@code expected.postgres.major} really runs on that major (the binaries are swapped). */
  @Test
  void runsOnTheExpectedMajor() throws Exception {
    try (Statement st = shared.createStatement();
        ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int / 10000")) {
      rs.next();
      assertEquals(Integer.parseInt(System.getProperty("expected.postgres.major", "17")), rs.getInt(1));
    }
  }

  @Test
  void eachGroupSeesTheRowsItsPoliciesAllowInOneCheck() {
    assertEquals(Set.of(List.of("1")), visible(user("authenticated", "00000000-0000-0000-0000-00000000000a"), 1, 2, 3));
    assertEquals(Set.of(List.of("2")), visible(user("authenticated", "00000000-0000-0000-0000-00000000000b"), 1, 2, 3));
    assertEquals(Set.of(List.of("3")), visible(user("anon", null), 1, 2, 3));
    assertTrue(security.enabled("public", "notes"));
  }

  @Test
  void keysInTheirJsonFormMatchTheirRows() {
    // how a change carries a timestamp key (ISO 8601), not PostgreSQL's text form (with a space)
    List<List<String>> keys = List.of(List.of("2026-01-02T03:04:05.5"), List.of("2026-01-02T03:04:06"));
    assertEquals(Set.of(List.of("2026-01-02T03:04:05.5")),
        security.visible(user("anon", null), "public", "plays", List.of("played_at"), Map.of("played_at", "timestamp"), keys));
  }

  @Test
  void aRoleThatCannotBeAssumedSeesNothing() {
    assertEquals(Set.of(), visible(user("no_such_role", "x"), 1, 2, 3));
    assertEquals(Set.of(), visible(user("service_role", null), 1, 2, 3), "service_role has no grant on notes");
  }

  @Test
  void theRoleAndClaimsEndWithTheCheck() throws Exception {
    visible(user("authenticated", "00000000-0000-0000-0000-00000000000a"), 1);
    try (Statement s = shared.createStatement();
        ResultSet rs = s.executeQuery("SELECT current_user, current_setting('request.jwt.claims', true)")) {
      assertTrue(rs.next());
      assertEquals("postgres", rs.getString(1));
      assertTrue(rs.getString(2) == null || rs.getString(2).isEmpty(), rs.getString(2));
    }
  }

  @Test
  void anAlreadyVisibleTransactionIsNotWaitedFor() throws Exception {
    long xid;
    try (Connection c = db.connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT pg_current_xact_id()::text::bigint")) {
      rs.next();
      xid = rs.getLong(1);
    }
    security.awaitCommitted(xid & 0xFFFF_FFFFL, Duration.ofSeconds(30));
  }

  @Test
  void rowsOfATransactionNotYetVisibleAreAwaitedNotDropped() throws Exception {
    TopicRegistry topics = new TopicRegistry(new RuntimeMetrics());
    ChangeRouter router = new ChangeRouter(topics, ByteBufAllocator.DEFAULT, Optional.of(security));
    EmbeddedChannel socket = new EmbeddedChannel();
    SocketLink link = new SocketLink(socket, Vsn.V1.codec(), new RuntimeMetrics(), 1);
    Subscription sub = new Subscription("s1", link, new TopicKey("realtime:notes", false), "1", false, false, "",
        false, user("anon", null));
    router.add(List.of(new Binding(7, "*", "public", "notes", Optional.empty(), Set.of(), false, sub)));

    try (Connection writer = db.connect(); Statement w = writer.createStatement()) {
      writer.setAutoCommit(false);
      w.execute("INSERT INTO public.notes VALUES (10, 'public', 'late')");
      long xid;
      try (ResultSet rs = w.executeQuery("SELECT pg_current_xact_id()::text::bigint & 4294967295")) {
        rs.next();
        xid = rs.getLong(1);
      }
      // what the slot's reader sees once the commit is in the WAL, before other sessions see the row
      assertEquals(Set.of(), visible(user("anon", null), 10));
      assertThrows(RowSecurity.Unavailable.class, () -> security.awaitCommitted(xid, Duration.ofMillis(100)));

      ChangeRecord insert = new ChangeRecord("public", "notes", "INSERT", "2026-01-01T00:00:00.000Z",
          columns(), Set.of("id"), Json.MAPPER.createObjectNode().put("id", 10).put("owner", "public").put("body", "late"),
          null);
      CompletableFuture<Integer> routed = CompletableFuture.supplyAsync(() -> router.routeAll(List.of(insert), xid));
      assertFalse(awaitQuietly(routed), "routing waits while the transaction is invisible");
      writer.commit();
      assertEquals(1, routed.get(30, TimeUnit.SECONDS), "the row reaches the subscriber once visible");
    }
    socket.runPendingTasks();
    ByteBuf frame = socket.readOutbound(); // a complete WebSocket frame, encoded once for all recipients
    try {
      String text = frame.toString(StandardCharsets.UTF_8);
      assertTrue(text.contains("\"late\"") && text.contains("postgres_changes"), text);
    } finally {
      frame.release();
      socket.finishAndReleaseAll();
    }
  }

  /** Whether the future finished within a short grace period (only ever asserted to be false). */
  private static boolean awaitQuietly(CompletableFuture<?> f) {
    try {
      f.get(200, TimeUnit.MILLISECONDS);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  private static Map<String, String> columns() {
    Map<String, String> cols = new LinkedHashMap<>();
    cols.put("id", "int4");
    cols.put("owner", "text");
    cols.put("body", "text");
    return cols;
  }
}
