package io.whatssound.realtime.runtime.history;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whatssound.realtime.postgres.TestClock;
import io.whatssound.realtime.runtime.config.HistorySettings;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.EpochMicros;
import io.whatssound.realtime.runtime.value.StoredRef;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** History kept in memory (no database): stamping, replay from the ring, completeness and latest values. */
class HistoryTest {
  private final TestClock clock = new TestClock(Instant.parse("2026-12-04T12:00:00Z"));
  private final History history = new History(
      new HistorySettings(List.of("party:*"), Duration.ofHours(1), Duration.ofMillis(500), 100,
          Set.of("playback:sync")),
      clock, Optional.empty());
  private final TopicKey party = TopicKey.ofSubTopic("party:1", false);
  private final TopicKey lobby = TopicKey.ofSubTopic("lobby", false);

  private static UserBroadcast chat(int seq) {
    return new UserBroadcast("chat", ("{\"seq\":" + seq + "}").getBytes(StandardCharsets.UTF_8), false, null);
  }

  private static int seq(Kept k) throws Exception {
    return Json.MAPPER.readTree(k.payload()).get("seq").asInt();
  }

  private long nowMillis() {
    return clock.millis();
  }

  @Test
  void globsChooseTheTopicsAndStarMatchesColons() {
    HistorySettings s = new HistorySettings(List.of("party:*", "dm:*:inbox", "exact"), Duration.ofHours(1),
        Duration.ofMillis(500), 10, Set.of());
    var m = s.matcher();
    assertTrue(m.matches("party:42"));
    assertTrue(m.matches("party:a:b"));
    assertTrue(m.matches("dm:x:y:inbox"));
    assertTrue(m.matches("exact"));
    assertFalse(m.matches("exactly"));
    assertFalse(m.matches("lobby"));
    assertFalse(m.matches("the-party:1"));
    assertTrue(new HistorySettings(List.of("*"), Duration.ofHours(1), Duration.ofMillis(1), 1, Set.of()).matcher()
        .matches("anything:at:all"));
    assertFalse(HistorySettings.off().matcher().matches("party:1"));
  }

  @Test
  void publishedMessagesGetAnIdAndATimeThatKeepTheirOrder() {
    History.Published a = history.publish(party, chat(1));
    History.Published b = history.publish(party, chat(2));
    assertNotNull(a.stored());
    assertTrue(b.stored().insertedAtMicros() > a.stored().insertedAtMicros(), "same instant, still ordered");
    assertEquals(a.stored().id(), a.broadcast().meta().get("id").textValue());
    assertEquals(EpochMicros.millis(a.stored().insertedAtMicros()), a.broadcast().meta().get("at").doubleValue());
    History.Published plain = history.publish(lobby, chat(3));
    assertNull(plain.stored(), "a topic without history is not stamped");
    assertNull(plain.broadcast().meta());
  }

  @Test
  void aRestMessagesOwnIdIsKept() {
    String id = "5a8f3f1e-8f7e-4c1b-9d54-0c5d7d2f1a11";
    UserBroadcast withId = new UserBroadcast("chat", "{}".getBytes(StandardCharsets.UTF_8), false,
        Json.MAPPER.createObjectNode().put("id", id));
    assertEquals(id, history.publish(party, withId).stored().id());
  }

  @Test
  void aReplayFromMemoryIsOldestFirstAndCompleteWithinItsLimit() throws Exception {
    clock.advance(Duration.ofSeconds(5)); // the ring covers from its start plus a margin for clock skew
    long since = nowMillis();
    for (int i = 0; i < 5; i++) {
      history.publish(party, chat(i));
      clock.advance(Duration.ofMillis(10));
    }
    History.Replay all = history.replay(party, since, 10).join();
    assertTrue(all.complete());
    assertEquals(List.of(0, 1, 2, 3, 4), all.messages().stream().map(k -> uncheckedSeq(k)).toList());
    History.Replay three = history.replay(party, since, 3).join();
    assertFalse(three.complete(), "more matched than the limit");
    assertEquals(List.of(2, 3, 4), three.messages().stream().map(k -> uncheckedSeq(k)).toList(), "the newest three");
    assertEquals(List.of(), history.replay(lobby, since, 3).join().messages());
  }

  @Test
  void aReplayFromBeforeTheRetentionOrBeforeThisPodSawTheClusterIsIncomplete() {
    clock.advance(Duration.ofSeconds(5));
    history.publish(party, chat(1));
    assertFalse(history.replay(party, nowMillis() - Duration.ofHours(2).toMillis(), 10).join().complete(),
        "older than the retention");
    clock.advance(Duration.ofSeconds(5));
    long beforeGap = nowMillis() - 2000;
    history.gap();
    assertFalse(history.replay(party, beforeGap, 10).join().complete(),
        "without a database, memory cannot vouch for the time before the gap");
    clock.advance(Duration.ofSeconds(5));
    assertTrue(history.replay(party, nowMillis() - 1000, 10).join().complete());
  }

  @Test
  void theRingKeepsTheNewestMessagesAndKnowsWhatItLost() {
    clock.advance(Duration.ofSeconds(5));
    long since = nowMillis();
    for (int i = 0; i < History.RING_SIZE + 10; i++) {
      history.publish(party, chat(i));
      clock.advance(Duration.ofMillis(1));
    }
    History.Replay r = history.replay(party, since, 1000).join();
    assertEquals(History.RING_SIZE, r.messages().size());
    assertFalse(r.complete(), "the first ten are gone from memory and there is no database");
  }

  @Test
  void messagesFromOtherPodsAndTheDatabaseAreRememberedWithTheirOwnIdentity() {
    clock.advance(Duration.ofSeconds(5));
    long since = nowMillis();
    long at = EpochMicros.of(clock.instant().plusMillis(1));
    UserBroadcast live = history.seen(party, chat(7), new StoredRef("row-1", at));
    assertEquals("row-1", live.meta().get("id").textValue());
    assertEquals(EpochMicros.millis(at), live.meta().get("at").doubleValue());
    List<Kept> replayed = history.replay(party, since, 10).join().messages();
    assertEquals(1, replayed.size());
    assertEquals("row-1", replayed.get(0).id());
    UserBroadcast unstored = history.seen(party, chat(8), null);
    assertNull(unstored.meta(), "a relayed broadcast without a row stays as it is");
  }

  @Test
  void latestValuesAreTheNewestOfEachEventPerTopic() throws Exception {
    UserBroadcast sync1 = new UserBroadcast("playback:sync", "{\"pos\":1}".getBytes(StandardCharsets.UTF_8), false, null);
    UserBroadcast sync2 = new UserBroadcast("playback:sync", "{\"pos\":2}".getBytes(StandardCharsets.UTF_8), false, null);
    history.publish(party, sync1);
    clock.advance(Duration.ofMillis(1));
    history.publish(party, sync2);
    history.publish(party, chat(1));
    List<Kept> latest = history.latest(party).join();
    assertEquals(1, latest.size());
    assertEquals(2, Json.MAPPER.readTree(latest.get(0).payload()).get("pos").asInt());
    UserBroadcast sent = latest.get(0).replayed(true);
    assertTrue(sent.meta().get("latest").booleanValue());
    assertTrue(sent.meta().get("replayed").booleanValue());
    assertTrue(sent.meta().has("id"));

    history.publish(lobby, sync1);
    List<Kept> lobbyLatest = history.latest(lobby).join();
    assertEquals(1, lobbyLatest.size(), "kept in memory on topics without history too");
    assertNull(lobbyLatest.get(0).id());
    assertFalse(lobbyLatest.get(0).replayed(true).meta().has("id"));
    assertEquals(List.of(), history.latest(TopicKey.ofSubTopic("party:1", true)).join(), "private is another topic");
  }

  @Test
  void nothingIsKeptWhenHistoryIsOff() {
    History off = History.off();
    assertFalse(off.active());
    assertNull(off.publish(party, chat(1)).stored());
    assertEquals(List.of(), off.latest(party).join());
  }

  private static int uncheckedSeq(Kept k) {
    try {
      return seq(k);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
