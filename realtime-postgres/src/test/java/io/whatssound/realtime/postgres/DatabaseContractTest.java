package io.whatssound.realtime.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class DatabaseContractTest {
  @RegisterExtension static final EmbeddedDatabaseExtension DB = new EmbeddedDatabaseExtension();
  Connection c;


  @BeforeEach
  void reset() throws Exception {
    c = DB.db().connect();
    exec("DROP SCHEMA IF EXISTS realtime CASCADE");
    exec("DROP PUBLICATION IF EXISTS supabase_realtime");
    exec("DROP PUBLICATION IF EXISTS " + ContractSettings.MESSAGES_PUBLICATION);
    exec("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active");
    exec("DROP TABLE IF EXISTS public.votes, public.songs");
  }

  private void exec(String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private long count(String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static void awaitTrue(Duration timeout, String what, Callable<Boolean> condition) throws Exception {
    long until = System.nanoTime() + timeout.toNanos();
    while (!condition.call()) {
      if (System.nanoTime() > until) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  private static Clock at(String instant) {
    return Clock.fixed(Instant.parse(instant), ZoneOffset.UTC);
  }

  /** The run that sets {@code expected.postgres.major} really runs on that major (the binaries are swapped). */
  @Test
  void runsOnTheExpectedMajor() throws Exception {
    String expected = System.getProperty("expected.postgres.major", "17");
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int / 10000")) {
      rs.next();
      assertEquals(Integer.parseInt(expected), rs.getInt(1));
    }
  }

  @Test
  void applyingTwiceIsHarmlessAndCreatesSchemaFunctionsAndPublications() throws Exception {
    ContractSettings s = ContractSettings.defaults();
    DatabaseContract.apply(c, s);
    DatabaseContract.apply(c, s);
    assertTrue(DatabaseContract.publicationExists(c, "supabase_realtime"));
    assertTrue(DatabaseContract.publicationExists(c, ContractSettings.MESSAGES_PUBLICATION));
    assertEquals(4, count("SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        + "WHERE n.nspname = 'realtime' AND p.proname IN ('send','send_binary','broadcast_changes','topic')"));
    assertEquals(List.of("realtime.messages"),
        DatabaseContract.publishedTables(c, ContractSettings.MESSAGES_PUBLICATION));
    assertTrue(DatabaseContract.publishedTables(c, "supabase_realtime").isEmpty());
    assertEquals(1, count("SELECT count(*) FROM pg_publication WHERE pubname = 'supabase_realtime' AND pubviaroot"),
        "a partitioned table's changes carry the table's own name");
  }

  @Test
  void usersAddTablesToThePublicationAndAnOperatorListReplacesThem() throws Exception {
    DatabaseContract.apply(c, ContractSettings.defaults());
    exec("CREATE TABLE public.votes (id bigint primary key, song text)");
    exec("CREATE TABLE public.songs (id bigint primary key)");
    exec("ALTER PUBLICATION supabase_realtime ADD TABLE public.votes");
    DatabaseContract.apply(c, ContractSettings.defaults());
    assertEquals(List.of("public.votes"), DatabaseContract.publishedTables(c, "supabase_realtime"),
        "without a table list the user's additions are kept");
    ContractSettings listed =
        new ContractSettings("supabase_realtime", Optional.of(List.of("public.songs")), false, "s1", 3,
            Duration.ofHours(72));
    DatabaseContract.apply(c, listed);
    assertEquals(List.of("public.songs"), DatabaseContract.publishedTables(c, "supabase_realtime"));
  }

  @Test
  void sendNeverLosesAMessageWhenThePartitionIsMissing() throws Exception {
    DatabaseContract.apply(c, ContractSettings.defaults());
    exec("SELECT realtime.send('{\"a\":1}'::jsonb, 'chat', 'room1', false)");
    exec("SELECT realtime.send_binary('\\x0102'::bytea, 'audio', 'room1')");
    assertEquals(2, count("SELECT count(*) FROM realtime.messages WHERE topic = 'room1'"));
    assertEquals(1, count("SELECT count(*) FROM realtime.messages WHERE private AND binary_payload = '\\x0102'"));
    assertEquals(1, PartitionMaintainer.partitions(c).size(), "send created today's partition");
  }

  @Test
  void broadcastChangesFromARowTrigger() throws Exception {
    DatabaseContract.apply(c, ContractSettings.defaults());
    exec("CREATE TABLE public.votes (id bigint primary key, song text)");
    exec("CREATE FUNCTION public.votes_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        + "PERFORM realtime.broadcast_changes('votes:' || coalesce(NEW.song, OLD.song), TG_OP, TG_OP, TG_TABLE_NAME, "
        + "TG_TABLE_SCHEMA, NEW, OLD); RETURN NULL; END $$");
    exec("CREATE TRIGGER votes_changed AFTER INSERT OR UPDATE OR DELETE ON public.votes "
        + "FOR EACH ROW EXECUTE FUNCTION public.votes_changed()");
    exec("INSERT INTO public.votes VALUES (1, 'intro')");
    exec("DELETE FROM public.votes");
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT event, payload->>'operation', payload->'record'->>'song', "
            + "payload->'old_record'->>'song', private FROM realtime.messages WHERE topic = 'votes:intro' ORDER BY inserted_at")) {
      assertTrue(rs.next());
      assertEquals("INSERT", rs.getString(1));
      assertEquals("intro", rs.getString(3));
      assertTrue(rs.getBoolean(5));
      assertTrue(rs.next());
      assertEquals("DELETE", rs.getString(2));
      assertEquals("intro", rs.getString(4));
    }
  }

  @Test
  void partitionsRollAcrossSimulatedDays() throws Exception {
    ContractSettings s = ContractSettings.defaults();
    DatabaseContract.apply(c, s);
    PartitionMaintainer.Report r = new PartitionMaintainer(at("2026-03-10T12:00:00Z")).maintain(c, s);
    assertEquals(5, r.created().size(), "yesterday, today and three days ahead");
    assertEquals(Optional.of(LocalDate.parse("2026-03-09")), r.oldest());
    assertEquals(Optional.of(LocalDate.parse("2026-03-13")), r.newest());
    exec("INSERT INTO realtime.messages (topic, extension, inserted_at) VALUES ('t', 'broadcast', '2026-03-09 10:00')");
    exec("CREATE TABLE realtime.messages_keep_me PARTITION OF realtime.messages "
        + "FOR VALUES FROM ('2020-01-01') TO ('2020-01-02')");

    PartitionMaintainer.Report again = new PartitionMaintainer(at("2026-03-10T13:00:00Z")).maintain(c, s);
    assertTrue(again.created().isEmpty() && again.dropped().isEmpty(), "nothing to do within the same day");

    PartitionMaintainer.Report later = new PartitionMaintainer(at("2026-03-13T00:00:05Z")).maintain(c, s);
    assertEquals(List.of("messages_2026_03_09"), later.dropped(), "a day older than 72 h is dropped");
    assertEquals(Optional.of(LocalDate.parse("2026-03-16")), later.newest());
    assertEquals(0, count("SELECT count(*) FROM realtime.messages WHERE topic = 't'"));
    assertEquals(1, count("SELECT count(*) FROM pg_class WHERE relname = 'messages_keep_me'"),
        "partitions not named by us are never dropped");

    PartitionMaintainer.Report far = new PartitionMaintainer(at("2026-05-01T00:00:00Z")).maintain(c, s);
    assertTrue(far.dropped().containsAll(List.of("messages_2026_03_10", "messages_2026_03_16")));
    assertEquals(Optional.of(LocalDate.parse("2026-04-30")), far.oldest());
  }

  @Test
  void anExpiredPartitionIsDetachedWithoutLockingWritersOut() throws Exception {
    ContractSettings s = ContractSettings.defaults();
    DatabaseContract.apply(c, s);
    new PartitionMaintainer(at("2026-03-10T12:00:00Z")).maintain(c, s);
    try (Connection reader = DB.db().connect(); Connection writer = DB.db().connect()) {
      // a long reader of the messages keeps the detach waiting
      reader.setAutoCommit(false);
      try (Statement st = reader.createStatement()) {
        st.execute("SELECT count(*) FROM realtime.messages");
      }
      CompletableFuture<PartitionMaintainer.Report> run = CompletableFuture.supplyAsync(() -> {
        try (Connection m = DB.db().connect()) {
          return new PartitionMaintainer(at("2026-03-13T00:00:05Z")).maintain(m, s);
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      });
      awaitTrue(Duration.ofSeconds(20), "the detach to wait for the reader",
          () -> count("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE \"realtime\".\"messages\" DETACH%'"
              + " AND wait_event_type = 'Lock'") == 1);
      // meanwhile the tenant writes on, without waiting: a lock on the parent would time this out
      try (Statement st = writer.createStatement()) {
        st.execute("SET statement_timeout = '2s'");
        st.execute("INSERT INTO realtime.messages (topic, extension, inserted_at) VALUES ('t', 'broadcast', "
            + "'2026-03-12 23:59')");
      }
      reader.rollback();
      assertEquals(List.of("messages_2026_03_09"), run.get(30, TimeUnit.SECONDS).dropped());
    }
    assertEquals(0, count("SELECT count(*) FROM pg_class WHERE relname = 'messages_2026_03_09'"));
  }

  @Test
  void aDetachCutShortIsFinishedByTheNextRun() throws Exception {
    ContractSettings s = ContractSettings.defaults();
    DatabaseContract.apply(c, s);
    new PartitionMaintainer(at("2026-03-10T12:00:00Z")).maintain(c, s);
    try (Connection reader = DB.db().connect(); Connection other = DB.db().connect()) {
      reader.setAutoCommit(false);
      try (Statement st = reader.createStatement()) {
        st.execute("SELECT count(*) FROM realtime.messages");
      }
      try (Statement st = other.createStatement()) {
        st.execute("SET statement_timeout = '300ms'");
        assertThrows(SQLException.class, () -> st.execute(
            "ALTER TABLE realtime.messages DETACH PARTITION realtime.messages_2026_03_11 CONCURRENTLY"));
      }
      reader.rollback();
    }
    assertEquals(1, count("SELECT count(*) FROM pg_inherits WHERE inhdetachpending"), "left pending");
    PartitionMaintainer.Report r = new PartitionMaintainer(at("2026-03-10T13:00:00Z")).maintain(c, s);
    assertEquals(List.of("messages_2026_03_11"), r.dropped(), "finished and dropped, though not yet expired");
    assertEquals(0, count("SELECT count(*) FROM pg_inherits WHERE inhdetachpending"));
    PartitionMaintainer.Report again = new PartitionMaintainer(at("2026-03-10T13:00:00Z")).maintain(c, s);
    assertEquals(List.of("messages_2026_03_11"), again.created(), "a day still wanted is made again");
  }

  @Test
  void eachTenantRunsAtItsOwnMinuteAfterMidnight() {
    Clock clock = at("2026-03-10T12:00:00Z");
    Instant midnight = Instant.parse("2026-03-11T00:00:00Z");
    Instant a = new PartitionMaintainer(clock, "tenant_a_slot").nextRun();
    Instant b = new PartitionMaintainer(clock, "tenant_b_slot").nextRun();
    assertEquals(a, new PartitionMaintainer(clock, "tenant_a_slot").nextRun(), "the same tenant, the same time");
    assertNotEquals(a, b);
    for (Instant t : List.of(a, b)) {
      assertTrue(t.isAfter(midnight) && t.isBefore(midnight.plusSeconds(PartitionMaintainer.JITTER_SECONDS + 6)), t.toString());
    }
  }

  @Test
  void aSecondMaintainerSkipsWhileTheFirstHoldsTheLock() throws Exception {
    ContractSettings s = ContractSettings.defaults();
    DatabaseContract.apply(c, s);
    try (Connection other = DB.db().connect()) {
      other.setAutoCommit(false);
      try (PreparedStatement ps = other.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
        ps.setLong(1, PartitionMaintainer.PARTITION_LOCK);
        ps.execute();
      }
      assertTrue(new PartitionMaintainer(at("2026-03-10T12:00:00Z")).maintain(c, s).skipped());
      other.rollback();
    }
    assertFalse(new PartitionMaintainer(at("2026-03-10T12:00:00Z")).maintain(c, s).skipped());
  }

  @Test
  void theRuntimeRoleCanStreamTheSlotAndReadMessagesButOwnsNothing() throws Exception {
    ContractSettings s = ContractSettings.defaults();
    DatabaseContract.apply(c, s);
    DatabaseContract.ensureRuntimeRole(c, "realtime_runtime", "s3cret-pass'word");
    DatabaseContract.ensureRuntimeRole(c, "realtime_runtime", "s3cret-pass'word");
    exec("SELECT realtime.send('{}'::jsonb, 'e', 'room', false)");
    Properties p = new Properties();
    p.setProperty("user", "realtime_runtime");
    p.setProperty("password", "s3cret-pass'word");
    try (Connection rc = DriverManager.getConnection(DB.db().jdbcUrl(), p)) {
      assertTrue(DatabaseContract.ensureSlot(rc, "tenant_slot"));
      assertFalse(DatabaseContract.ensureSlot(rc, "tenant_slot"));
      try (Statement st = rc.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM realtime.messages")) {
        rs.next();
        assertEquals(1, rs.getLong(1));
      }
      SQLException denied =
          assertThrows(SQLException.class, () -> rc.createStatement().execute("CREATE TABLE realtime.x (a int)"));
      assertEquals("42501", denied.getSQLState());
    }
    SlotStatus st = DatabaseContract.slotStatus(c, "tenant_slot").orElseThrow();
    assertFalse(st.active());
    assertTrue(st.lagBytes().isPresent());
    assertTrue(DatabaseContract.dropSlot(c, "tenant_slot"));
    assertTrue(DatabaseContract.slotStatus(c, "tenant_slot").isEmpty());
    DatabaseContract.dropRuntimeRole(c, "realtime_runtime");
    assertEquals(0, count("SELECT count(*) FROM pg_roles WHERE rolname = 'realtime_runtime'"));
  }

  @Test
  void aRuntimeRoleOfTheLongestNameIsProvisionedTwiceAndDropped() throws Exception {
    DatabaseContract.apply(c, ContractSettings.defaults());
    String role = "realtime_" + "x".repeat(50);
    DatabaseContract.ensureRuntimeRole(c, role, "pw");
    DatabaseContract.ensureRuntimeRole(c, role, "pw"); // its policies' names fit in 63 bytes, so they are found again
    assertEquals(2, count("SELECT count(*) FROM pg_policies WHERE tablename = 'messages' AND '" + role + "' = ANY(roles)"));
    DatabaseContract.dropRuntimeRole(c, role);
    assertEquals(0, count("SELECT count(*) FROM pg_roles WHERE rolname = '" + role + "'"));
    assertEquals(0, count("SELECT count(*) FROM pg_policies WHERE tablename = 'messages' AND policyname LIKE 'runtime_%'"));
  }

  @Test
  void allTablesTurnedOnAndOffRemakesThePublication() throws Exception {
    ContractSettings listed = ContractSettings.defaults();
    ContractSettings all = new ContractSettings(listed.publication(), Optional.empty(), true, listed.slot(), 3,
        listed.retention());
    DatabaseContract.apply(c, listed);
    assertEquals(0, count("SELECT count(*) FROM pg_publication WHERE pubname = 'supabase_realtime' AND puballtables"));
    DatabaseContract.apply(c, all);
    assertEquals(1, count("SELECT count(*) FROM pg_publication WHERE pubname = 'supabase_realtime' AND puballtables"));
    DatabaseContract.apply(c, listed);
    assertEquals(1, count("SELECT count(*) FROM pg_publication WHERE pubname = 'supabase_realtime' AND NOT puballtables"));
  }

  @Test
  void aSlotOfTheSameNameInAnotherDatabaseIsNeitherUsedNorTouched() throws Exception {
    exec("DROP DATABASE IF EXISTS other_tenant WITH (FORCE)");
    exec("CREATE DATABASE other_tenant");
    try (Connection other = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + DB.db().port() + "/other_tenant",
        EmbeddedDatabase.USER, EmbeddedDatabase.PASSWORD)) {
      assertTrue(DatabaseContract.ensureSlot(other, "shared_name"));
      ContractConflict conflict = assertThrows(ContractConflict.class, () -> DatabaseContract.ensureSlot(c, "shared_name"));
      assertTrue(conflict.getMessage().contains("other_tenant"), conflict.getMessage());
      assertTrue(DatabaseContract.slotStatus(c, "shared_name").isEmpty(), "another database's slot is not this one's");
      assertFalse(DatabaseContract.dropSlot(c, "shared_name"), "nothing of this database to drop");
      assertTrue(DatabaseContract.slotStatus(other, "shared_name").isPresent(), "the other database keeps its slot");
      assertTrue(DatabaseContract.dropSlot(other, "shared_name"));
    } finally {
      exec("DROP DATABASE IF EXISTS other_tenant WITH (FORCE)");
    }
  }

  @Test
  void oneTenantClaimsADatabaseAndASecondIsToldWhoHoldsIt() throws Exception {
    assertEquals(Optional.empty(), DatabaseContract.holder(c));
    assertEquals("party/a", DatabaseContract.claim(c, "party/a"));
    assertEquals("party/a", DatabaseContract.claim(c, "party/a"), "claiming again is harmless");
    assertEquals("party/a", DatabaseContract.claim(c, "other/b"), "the first tenant keeps the database");
    DatabaseContract.release(c, "other/b");
    assertEquals(Optional.of("party/a"), DatabaseContract.holder(c), "only the holder releases");
    DatabaseContract.release(c, "party/a");
    assertEquals("other/b", DatabaseContract.claim(c, "other/b"));
  }

  @Test
  void settingsAreValidated() {
    assertThrows(IllegalArgumentException.class,
        () -> ContractSettings.defaults().withNames("Bad-Name", "slot"));
    assertThrows(IllegalArgumentException.class,
        () -> ContractSettings.defaults().withNames("pub", "slot; drop table x"));
  }
}
