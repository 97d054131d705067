package io.whatssound.realtime.runtime.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer.Permissions;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import io.whatssound.realtime.runtime.presence.PresenceState;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.protocol.Vsn;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Topics with local subscribers, and the fan-out to them on each subscriber's event loop. */
class TopicRegistryTest {
  private final RuntimeMetrics metrics = new RuntimeMetrics();
  private final TopicRegistry topics = new TopicRegistry(metrics);
  private final TopicKey party = new TopicKey("realtime:party", false);
  private final List<EmbeddedChannel> sockets = new ArrayList<>();
  private final AtomicInteger encodings = new AtomicInteger();
  private int ids;

  @AfterEach
  void closeAll() {
    sockets.forEach(EmbeddedChannel::finishAndReleaseAll);
  }

  /** A subscription on a socket of its own (its own event loop). */
  private Subscription subscribe(TopicKey key, boolean presence) {
    EmbeddedChannel ch = new EmbeddedChannel();
    sockets.add(ch);
    SocketLink link = new SocketLink(ch, Vsn.V2.codec(), metrics, 10);
    return new Subscription("s" + ++ids, link, key, "1", true, false, "k" + ids, presence, null);
  }

  private SharedPush chat() {
    UserBroadcast b = new UserBroadcast("chat", "{\"t\":1}".getBytes(StandardCharsets.UTF_8), false, null);
    return new SharedPush(sockets.get(0).alloc(), b.size(), (codec, a) -> {
      encodings.incrementAndGet();
      return codec.encodeBroadcast(a, party.topic(), b);
    });
  }

  /** Runs every loop's fan-out task, then counts and frees the frames {@code s}'s socket was sent. */
  private int received(Subscription s) {
    sockets.forEach(EmbeddedChannel::runPendingTasks);
    EmbeddedChannel ch = (EmbeddedChannel) s.link().channel();
    int n = 0;
    Object o;
    while ((o = ch.readOutbound()) != null) {
      ((ByteBuf) o).release();
      n++;
    }
    return n;
  }

  @Test
  void subscribersOfATopicShareItsPresenceAndTheTopicGoesWithTheLastOne() {
    Subscription a = subscribe(party, true);
    Subscription b = subscribe(party, true);
    PresenceState first = topics.join(a);
    assertSame(first, topics.join(b));
    assertSame(first, topics.presence(party).orElseThrow());
    assertEquals(1, topics.topicCount());
    topics.leave(a);
    assertEquals(1, topics.topicCount());
    topics.leave(a); // a second leave changes nothing
    assertEquals(1, topics.topicCount());
    topics.leave(b);
    assertEquals(0, topics.topicCount());
    assertTrue(topics.presence(party).isEmpty());
    Subscription c = subscribe(party, true);
    topics.join(c);
    assertTrue(topics.presence(party).orElseThrow() != first, "a new topic starts with an empty presence");
  }

  @Test
  void aBroadcastReachesEverySubscriberButTheExcludedOneAndIsEncodedOnce() {
    Subscription a = subscribe(party, false);
    Subscription b = subscribe(party, false);
    Subscription c = subscribe(party, false);
    Subscription elsewhere = subscribe(new TopicKey("realtime:other", false), false);
    List.of(a, b, c, elsewhere).forEach(topics::join);
    topics.publish(party, chat(), a, TopicRegistry.Audience.ALL, "broadcast");
    assertEquals(List.of(0, 1, 1, 0), List.of(received(a), received(b), received(c), received(elsewhere)));
    assertEquals(1, encodings.get(), "one encoding for every 2.0.0 socket");
  }

  @Test
  void presenceGoesOnlyToSubscribersThatAskedForItAndBroadcastOnlyToThoseAllowedToRead() {
    Subscription watching = subscribe(party, true);
    Subscription notWatching = subscribe(party, false);
    Subscription mayNotRead = subscribe(party, true);
    mayNotRead.permissions(new Permissions(false, true, false, false));
    List.of(watching, notWatching, mayNotRead).forEach(topics::join);
    topics.publish(party, chat(), null, TopicRegistry.Audience.PRESENCE, "presence");
    assertEquals(List.of(1, 0, 1), List.of(received(watching), received(notWatching), received(mayNotRead)));
    topics.publish(party, chat(), null, TopicRegistry.Audience.ALL, "broadcast");
    assertEquals(List.of(1, 1, 0), List.of(received(watching), received(notWatching), received(mayNotRead)));
  }

  @Test
  void aMessageForATopicWithoutSubscribersIsFreedAtOnce() {
    subscribe(party, false); // a socket for the allocator, not subscribed
    SharedPush push = chat();
    ByteBuf frame = push.wireFor(Vsn.V2.codec());
    topics.publish(new TopicKey("realtime:nobody", false), push, null, TopicRegistry.Audience.ALL, "broadcast");
    assertEquals(0, frame.refCnt());
  }

  @Test
  void chosenSubscriptionsAreDeliveredToWhateverTheirTopic() {
    Subscription a = subscribe(party, false);
    Subscription b = subscribe(new TopicKey("realtime:other", false), false);
    Subscription c = subscribe(party, false);
    List.of(a, b, c).forEach(topics::join);
    topics.deliverTo(List.of(a, b), chat(), "postgres_changes");
    assertEquals(List.of(1, 1, 0), List.of(received(a), received(b), received(c)));
  }
}
