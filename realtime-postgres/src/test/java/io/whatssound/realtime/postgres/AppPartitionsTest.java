package io.whatssound.realtime.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Declared partitions of an application's tables, across simulated days and months. */
class AppPartitionsTest {
  @RegisterExtension static final EmbeddedDatabaseExtension DB = new EmbeddedDatabaseExtension();
  Connection c;

  @BeforeEach
  void connect() throws Exception {
    c = DB.db().connect();
    exec("DROP TABLE IF EXISTS public.chat_messages, public.plain, public.by_list, public.by_other, public.text_key, "
        + "public.daily_events CASCADE");
  }

  @AfterEach
  void close() throws Exception {
    c.close();
  }

  private void exec(String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private String partitionOf(String table, String id) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT tableoid::regclass::text FROM " + table + " WHERE id = " + id)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static AppPartitions.Table monthly(String table, int premake, Integer retention) {
    return AppPartitions.Table.of(table, "created_at", AppPartitions.Interval.MONTHLY, premake,
        Optional.ofNullable(retention));
  }

  @Test
  void aMonthlyTableRollsAcrossTheMonthBoundary() throws Exception {
    // as examples/listening-party/schema.sql declares it
    exec("CREATE TABLE public.chat_messages (id bigserial, session_id bigint NOT NULL, body text NOT NULL, "
        + "created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)");
    exec("CREATE INDEX ON public.chat_messages (session_id, created_at DESC)");
    TestClock clock = new TestClock(Instant.parse("2026-11-30T23:00:00Z"));
    AppPartitions partitions = new AppPartitions(clock);
    AppPartitions.Table t = monthly("chat_messages", 2, 1);

    AppPartitions.Result first = partitions.maintain(c, t);
    assertTrue(first.ready(), first.message());
    assertEquals("Rolling", first.reason());
    assertEquals(List.of("chat_messages_p2026_10", "chat_messages_p2026_11", "chat_messages_p2026_12",
        "chat_messages_p2027_01"), first.created(), "the previous month, this one and two ahead");
    assertEquals(Optional.of(LocalDate.parse("2026-10-01")), first.oldest());
    assertTrue(partitions.maintain(c, t).created().isEmpty(), "a second run changes nothing");

    exec("INSERT INTO public.chat_messages (id, session_id, body, created_at) VALUES "
        + "(1, 42, 'last of November', '2026-11-30 23:59:59.999+00'), (2, 42, 'first of December', '2026-12-01 00:00:00+00'),"
        + "(3, 42, 'midnight in Berlin', '2026-12-01 00:30:00+01')");
    assertEquals("chat_messages_p2026_11", partitionOf("public.chat_messages", "1"));
    assertEquals("chat_messages_p2026_12", partitionOf("public.chat_messages", "2"));
    assertEquals("chat_messages_p2026_11", partitionOf("public.chat_messages", "3"), "bounds are in UTC");
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT count(*) FROM pg_indexes WHERE tablename = 'chat_messages_p2026_12' AND indexdef LIKE '%session_id%'")) {
      rs.next();
      assertEquals(1, rs.getInt(1), "the parent's index reaches each partition");
    }

    clock.advance(Duration.ofHours(2)); // 2026-12-01 01:00 UTC
    AppPartitions.Result next = partitions.maintain(c, t);
    assertEquals(List.of("chat_messages_p2027_02"), next.created());
    assertEquals(List.of("chat_messages_p2026_10"), next.dropped(), "one month kept before the current one");
    assertEquals(4, next.count());
    assertEquals("chat_messages_p2026_11", partitionOf("public.chat_messages", "1"), "November's rows stay a month");
  }

  @Test
  void dailyPartitionsForATimestampKeyAndNothingDroppedWithoutRetention() throws Exception {
    exec("CREATE TABLE public.daily_events (id bigint, at timestamp NOT NULL) PARTITION BY RANGE (at)");
    TestClock clock = new TestClock(Instant.parse("2026-03-10T12:00:00Z"));
    AppPartitions.Table t = AppPartitions.Table.of("public.daily_events", "at", AppPartitions.Interval.DAILY, 1,
        Optional.empty());
    AppPartitions.Result r = new AppPartitions(clock).maintain(c, t);
    assertEquals(List.of("daily_events_p2026_03_09", "daily_events_p2026_03_10", "daily_events_p2026_03_11"),
        r.created());
    clock.advance(Duration.ofDays(30));
    AppPartitions.Result later = new AppPartitions(clock).maintain(c, t);
    assertTrue(later.dropped().isEmpty());
    assertEquals(6, later.count());
  }

  @Test
  void tablesThatAreNotPartitionedAsDeclaredAreRefusedAndLeftAlone() throws Exception {
    AppPartitions p = new AppPartitions(new TestClock(Instant.parse("2026-03-10T12:00:00Z")));
    AppPartitions.Result missing = p.maintain(c, monthly("public.nope", 1, null));
    assertEquals("TableMissing", missing.reason());
    assertFalse(missing.ready());

    exec("CREATE TABLE public.plain (id bigint, created_at timestamptz)");
    AppPartitions.Result plain = p.maintain(c, monthly("plain", 1, null));
    assertEquals("NotPartitioned", plain.reason());
    assertTrue(plain.message().contains("PARTITION BY RANGE (created_at)"), plain.message());

    exec("CREATE TABLE public.by_list (id bigint, created_at timestamptz) PARTITION BY LIST (id)");
    assertEquals("WrongKey", p.maintain(c, monthly("by_list", 1, null)).reason());
    exec("CREATE TABLE public.by_other (id bigint, created_at timestamptz, other timestamptz) PARTITION BY RANGE (other)");
    assertEquals("WrongKey", p.maintain(c, monthly("by_other", 1, null)).reason());
    exec("CREATE TABLE public.text_key (id bigint, created_at text) PARTITION BY RANGE (created_at)");
    AppPartitions.Result text = p.maintain(c, monthly("text_key", 1, null));
    assertEquals("WrongKey", text.reason());
    assertTrue(text.message().contains("text"), text.message());
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT count(*) FROM pg_inherits WHERE inhparent IN ('public.by_other'::regclass, 'public.text_key'::regclass)")) {
      rs.next();
      assertEquals(0, rs.getInt(1), "nothing was created");
    }
  }

  @Test
  void aRangeTheUserAlreadyCoversIsLeftAsItIs() throws Exception {
    exec("CREATE TABLE public.chat_messages (id bigint, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)");
    exec("CREATE TABLE public.chat_messages_all_2026 PARTITION OF public.chat_messages "
        + "FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2027-01-01 00:00:00+00')");
    AppPartitions.Result r = new AppPartitions(new TestClock(Instant.parse("2026-12-15T00:00:00Z")))
        .maintain(c, monthly("chat_messages", 1, null));
    assertEquals(List.of("chat_messages_p2027_01"), r.created(), "November and December are the user's");
    assertTrue(r.ready(), "this month is in the user's partition: " + r.message());
  }
}
