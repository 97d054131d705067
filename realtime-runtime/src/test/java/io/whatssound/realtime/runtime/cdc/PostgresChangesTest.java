package io.whatssound.realtime.runtime.cdc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseContract;
import io.whatssound.realtime.postgres.DatabaseUrl;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.postgres.TestClock;
import io.whatssound.realtime.runtime.channel.Broadcaster;
import io.whatssound.realtime.runtime.channel.SocketLink;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.channel.TopicRegistry;
import io.whatssound.realtime.runtime.config.DatabaseSettings;
import io.whatssound.realtime.runtime.config.RuntimeConfig;
import io.whatssound.realtime.runtime.db.RuntimeDatabase;
import io.whatssound.realtime.runtime.history.History;
import io.whatssound.realtime.runtime.history.MessageStore;
import io.whatssound.realtime.runtime.limits.TenantLimiter;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.Vsn;
import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Postgres Changes facade on a real PostgreSQL: bindings checked against the publication, a subscription live
 * only with the stream, and the slot's messages (given here as decoded pgoutput) routed to it.
 */
class PostgresChangesTest {
  private static EmbeddedDatabase db;
  private static RuntimeDatabase runtime;
  private final RuntimeMetrics metrics = new RuntimeMetrics();
  private final TopicRegistry topics = new TopicRegistry(metrics);
  private final List<EmbeddedChannel> sockets = new ArrayList<>();
  private PostgresChanges changes;

  @BeforeAll
  static void database() throws Exception {
    db = EmbeddedDatabase.start(0, Optional.empty());
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      DatabaseContract.apply(c, ContractSettings.defaults());
      s.execute("CREATE TABLE public.songs (id int PRIMARY KEY, title text, notes text)");
      s.execute("ALTER TABLE public.songs REPLICA IDENTITY FULL");
      s.execute("ALTER PUBLICATION supabase_realtime ADD TABLE public.songs");
      s.execute("GRANT SELECT ON public.songs TO anon");
    }
    runtime = RuntimeDatabase.start(new DatabaseSettings(DatabaseSettings.Mode.URL,
        Optional.of(DatabaseUrl.parse(db.postgresUrl())), Optional.empty(), false, ContractSettings.defaults(), 0),
        Clock.systemUTC());
  }

  @AfterAll
  static void stopDatabase() throws Exception {
    runtime.close();
    db.close();
  }

  @BeforeEach
  void facade() {
    TenantLimiter limiter = new TenantLimiter(RuntimeConfig.fromEnv(Map.of()).limits(), new TestClock(Instant.now()));
    changes = new PostgresChanges(runtime, topics, new Broadcaster(topics, limiter, metrics, History.off()), ByteBufAllocator.DEFAULT);
  }

  @AfterEach
  void closeSockets() {
    sockets.forEach(EmbeddedChannel::finishAndReleaseAll);
  }

  private Subscription subscriber() {
    EmbeddedChannel ch = new EmbeddedChannel();
    sockets.add(ch);
    Subscription s = new Subscription("s" + sockets.size(), new SocketLink(ch, Vsn.V2.codec(), metrics, 10),
        new TopicKey("realtime:songs", false), "1", true, false, "k", false,
        new VerifiedToken("t", "anon", Instant.now().plusSeconds(3600), Map.of("role", "anon")));
    topics.join(s);
    return s;
  }

  private static List<ChangeRequest> binding(String json) throws Exception {
    return List.of(ChangeRequest.of((ObjectNode) Json.MAPPER.readTree(json)));
  }

  /** The postgres_changes frames {@code s}'s socket was sent, as JSON arrays. */
  private List<JsonNode> frames(Subscription s) throws Exception {
    EmbeddedChannel ch = (EmbeddedChannel) s.link().channel();
    ch.runPendingTasks();
    List<JsonNode> out = new ArrayList<>();
    Object o;
    while ((o = ch.readOutbound()) != null) {
      ByteBuf b = (ByteBuf) o;
      try {
        b.skipBytes(2 + ((b.getUnsignedByte(1) & 0x7F) == 126 ? 2 : (b.getUnsignedByte(1) & 0x7F) == 127 ? 8 : 0));
        out.add(Json.MAPPER.readTree(b.toString(StandardCharsets.UTF_8)));
      } finally {
        b.release();
      }
    }
    return out;
  }

  @Test
  void aSubscriptionIsLiveOnlyOnceTheStreamIs() throws Exception {
    CompletableFuture<Optional<String>> live =
        changes.subscribe(subscriber(), binding("{\"event\":\"*\",\"schema\":\"public\",\"table\":\"songs\"}"), false);
    assertThrows(TimeoutException.class, () -> live.get(300, TimeUnit.MILLISECONDS), "waits for the stream");
    changes.live(true);
    assertEquals(Optional.empty(), live.get(10, TimeUnit.SECONDS));
    changes.live(false);
    CompletableFuture<Optional<String>> again =
        changes.subscribe(subscriber(), binding("{\"event\":\"*\",\"schema\":\"public\",\"table\":\"songs\"}"), false);
    assertThrows(TimeoutException.class, () -> again.get(300, TimeUnit.MILLISECONDS), "a lost stream is waited for");
    changes.live(true);
    assertEquals(Optional.empty(), again.get(10, TimeUnit.SECONDS));
  }

  @Test
  void anUnpublishedTableIsRefusedAtOnceNamingThePublication() throws Exception {
    Optional<String> error = changes.subscribe(subscriber(),
        binding("{\"event\":\"*\",\"schema\":\"public\",\"table\":\"nowhere\"}"), false).get(10, TimeUnit.SECONDS);
    assertTrue(error.orElseThrow().contains("supabase_realtime"), error.toString());
  }

  @Test
  void rowChangesFromTheSlotReachTheMatchingSubscription() throws Exception {
    changes.live(true);
    Subscription s = subscriber();
    assertFalse(changes.subscribe(s, binding("{\"event\":\"UPDATE\",\"schema\":\"public\",\"table\":\"songs\"}"), false)
        .get(10, TimeUnit.SECONDS).isPresent());
    PgOutputMessage.Relation songs = new PgOutputMessage.Relation(7001, "public", "songs", 'f', List.of(
        new PgOutputMessage.Column("id", 23, -1, true), new PgOutputMessage.Column("title", 25, -1, false),
        new PgOutputMessage.Column("notes", 25, -1, false)));
    Instant at = Instant.parse("2026-03-10T12:00:00Z");
    changes.message(new PgOutputMessage.Begin(1, at, 42));
    changes.message(songs);
    changes.message(new PgOutputMessage.Insert(7001, new PgOutputMessage.Tuple(List.of(
        PgOutputMessage.TupleValue.text("1"), PgOutputMessage.TupleValue.text("Intro"),
        PgOutputMessage.TupleValue.text("long notes")))));
    // an UPDATE that leaves the TOASTed notes alone: REPLICA IDENTITY FULL has them in the old row
    changes.message(new PgOutputMessage.Update(7001,
        new PgOutputMessage.Tuple(List.of(PgOutputMessage.TupleValue.text("1"), PgOutputMessage.TupleValue.text("Intro"),
            PgOutputMessage.TupleValue.text("long notes"))), false,
        new PgOutputMessage.Tuple(List.of(PgOutputMessage.TupleValue.text("1"), PgOutputMessage.TupleValue.text("Outro"),
            PgOutputMessage.TupleValue.UNCHANGED_TOAST))));
    changes.message(new PgOutputMessage.Commit(2, 3, at));
    List<JsonNode> got = frames(s);
    assertEquals(1, got.size(), "the INSERT does not match an UPDATE binding: " + got);
    JsonNode data = got.get(0).get(4).get("data");
    assertEquals("UPDATE", data.get("type").asText());
    assertEquals("Outro", data.at("/record/title").asText());
    assertEquals("long notes", data.at("/record/notes").asText(), "the unchanged value comes from the old row");
    assertEquals("Intro", data.at("/old_record/title").asText());
  }

  @Test
  void storedHistoryIsNotSentAgainButARowFromTheDatabaseIs() throws Exception {
    Subscription s = subscriber();
    List<PgOutputMessage.Column> cols = new ArrayList<>();
    for (String c : List.of("topic", "extension", "payload", "event", "private", "updated_at", "inserted_at", "id",
        "binary_payload")) {
      cols.add(new PgOutputMessage.Column(c, 25, -1, false));
    }
    PgOutputMessage.Relation messages = new PgOutputMessage.Relation(7002, "realtime", "messages", 'd', cols);
    Instant at = Instant.parse("2026-03-10T12:00:00Z");
    for (boolean marked : new boolean[] {true, false}) {
      changes.message(new PgOutputMessage.Begin(1, at, marked ? 50 : 51));
      if (marked) {
        changes.message(new PgOutputMessage.LogicalMessage(true, 1, MessageStore.WAL_MARKER, new byte[0]));
      }
      changes.message(messages);
      changes.message(new PgOutputMessage.Insert(7002, new PgOutputMessage.Tuple(List.of(
          PgOutputMessage.TupleValue.text("songs"), PgOutputMessage.TupleValue.text("broadcast"),
          PgOutputMessage.TupleValue.text("{\"marked\":" + marked + "}"), PgOutputMessage.TupleValue.text("chat"),
          PgOutputMessage.TupleValue.text("f"), PgOutputMessage.TupleValue.text("2026-03-10 12:00:00"),
          PgOutputMessage.TupleValue.text("2026-03-10 12:00:00.123456"),
          PgOutputMessage.TupleValue.text(marked ? "7d0c6a43-3c1e-4a43-9b7e-3f1a1c0e0a01"
              : "7d0c6a43-3c1e-4a43-9b7e-3f1a1c0e0a02"),
          PgOutputMessage.TupleValue.NULL))));
      changes.message(new PgOutputMessage.Commit(2, 3, at));
    }
    List<JsonNode> got = frames(s);
    assertEquals(1, got.size(), "only the row written by the database itself: " + got);
    assertEquals(false, got.get(0).get(4).at("/payload/marked").asBoolean(true));
    assertEquals("7d0c6a43-3c1e-4a43-9b7e-3f1a1c0e0a02", got.get(0).get(4).at("/meta/id").asText());
  }
}
