package io.whatssound.realtime.runtime.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.postgres.TestClock;
import io.whatssound.realtime.runtime.config.RuntimeConfig;
import io.whatssound.realtime.runtime.history.History;
import io.whatssound.realtime.runtime.limits.TenantLimiter;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import io.whatssound.realtime.runtime.presence.PresenceState;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import io.whatssound.realtime.runtime.value.StoredRef;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which messages leave the pod: those that started here go to the relay once; those from other pods never do. */
class BroadcasterTest {
  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final RuntimeMetrics metrics = new RuntimeMetrics();
  private final TopicRegistry topics = new TopicRegistry(metrics);
  private final TenantLimiter limiter = new TenantLimiter(
      RuntimeConfig.fromEnv(Map.of("REALTIME_MAX_EVENTS_PER_SECOND", "3")).limits(), clock);
  private final Broadcaster broadcaster = new Broadcaster(topics, limiter, metrics, History.off());
  private final List<String> relayed = new ArrayList<>();
  private final TopicKey key = new TopicKey("realtime:party", false);
  private final UserBroadcast chat = new UserBroadcast("chat", "{\"text\":\"hi\"}".getBytes(StandardCharsets.UTF_8),
      false, null);

  BroadcasterTest() {
    broadcaster.relayThrough(new ClusterRelay() {
      @Override
      public void broadcast(TopicKey k, UserBroadcast b, StoredRef stored) {
        relayed.add("broadcast " + k.topic() + " " + b.event());
      }

      @Override
      public void storedBroadcast(TopicKey k, UserBroadcast b, StoredRef stored) {
        relayed.add("stored " + k.topic() + " " + stored.id());
      }

      @Override
      public void presence(TopicKey k, String owner, PresenceState.Diff diff) {
        relayed.add("presence " + k.topic() + " " + owner);
      }

      @Override
      public void change(ChangeRecord change) {
        relayed.add("change");
      }

      @Override
      public void seed(TopicKey k, PresenceState state) {
        relayed.add("seed " + k.topic());
      }
    });
  }

  @Test
  void whatStartsHereIsRelayedOnceAndWhatCameFromAnotherPodIsNot() {
    ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    broadcaster.fromClient(key, chat, null, alloc);
    broadcaster.fromDatabase(key, chat, new StoredRef("m-1", 5L), alloc);
    broadcaster.fromOtherPod(key, chat, null, alloc);
    broadcaster.fromOtherPod(key, chat, new StoredRef("m-2", 6L), alloc);
    assertEquals(List.of("broadcast realtime:party chat", "stored realtime:party m-1"), relayed);
  }

  @Test
  void untilAClusterIsNamedNothingIsRelayed() {
    Broadcaster alone = new Broadcaster(topics, limiter, metrics, History.off());
    alone.fromClient(key, chat, null, ByteBufAllocator.DEFAULT);
    assertTrue(relayed.isEmpty());
  }

  @Test
  void admitsWithinTheTenantsRateAndCountsARefusal() {
    assertTrue(broadcaster.admit(2));
    assertTrue(broadcaster.admit(1));
    assertFalse(broadcaster.admit(1), "3 per second");
    assertEquals(1.0, metrics.registry().counter("realtime_rejections", "reason", "events_per_second").count());
    clock.advance(Duration.ofSeconds(1));
    assertTrue(broadcaster.admit(3));
  }
}
