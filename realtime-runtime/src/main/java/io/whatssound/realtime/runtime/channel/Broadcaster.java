package io.whatssound.realtime.runtime.channel;

import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.channel.TopicRegistry.Audience;
import io.whatssound.realtime.runtime.history.History;
import io.whatssound.realtime.runtime.limits.TenantLimiter;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import io.whatssound.realtime.runtime.presence.PresenceState;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import io.whatssound.realtime.runtime.value.StoredRef;
import io.whatssound.realtime.runtime.value.TopicKey;

/**
 * The one path a message takes out of this pod's logic: encoded once ({@link SharedPush}), delivered to the topic's
 * subscribers on this pod ({@link TopicRegistry}), and, when it started here, handed to the other pods
 * ({@link ClusterRelay}). A broadcast from a client, from REST, from the database and from another pod, and a presence
 * change, all go through here; to change how a message reaches the cluster, change this class. Broadcasts pass the
 * {@link History} on their way, which stamps those of history topics and remembers them.
 *
 * <p>The relay is {@link ClusterRelay#LOCAL} (nothing crosses) until {@link #relayThrough} names the cluster.
 */
public final class Broadcaster {
  private final TopicRegistry topics;
  private final TenantLimiter limiter;
  private final RuntimeMetrics metrics;
  private final History history;
  private volatile ClusterRelay relay = ClusterRelay.LOCAL;

  public Broadcaster(TopicRegistry topics, TenantLimiter limiter, RuntimeMetrics metrics, History history) {
    this.topics = topics;
    this.limiter = limiter;
    this.metrics = metrics;
    this.history = history;
  }

  public History history() {
    return history;
  }

  /** Where messages that start on this pod go to reach the other pods. */
  public void relayThrough(ClusterRelay relay) {
    this.relay = relay;
  }

  /**
   * Whether {@code messages} more broadcasts from clients or REST may go out now: within the tenant's events per
   * second, and while the event loops keep up with fan-out ({@link TopicRegistry#acceptsMore}). A refusal is counted
   * as {@code events_per_second}.
   */
  public boolean admit(int messages) {
    if (limiter.tryEvents(messages) && topics.acceptsMore()) {
      return true;
    }
    metrics.rejected("events_per_second");
    return false;
  }

  /**
   * A broadcast sent by a client or through REST: to this pod's subscribers but {@code exclude}, then to the others.
   * On a history topic it is stamped ({@code meta.id}, {@code meta.at}) and queued for storing first.
   */
  public void fromClient(TopicKey key, UserBroadcast broadcast, Subscription exclude, ByteBufAllocator alloc) {
    if (!history.active()) {
      deliver(key, broadcast, exclude, null, alloc);
      relay.broadcast(key, broadcast, null);
      return;
    }
    History.Published p = history.publish(key, broadcast);
    deliver(key, p.broadcast(), exclude, p.stored(), alloc);
    relay.broadcast(key, p.broadcast(), p.stored());
  }

  /** A broadcast stored in {@code realtime.messages} and read from the slot on this pod: here, then the others. */
  public void fromDatabase(TopicKey key, UserBroadcast broadcast, StoredRef stored, ByteBufAllocator alloc) {
    UserBroadcast b = history.active() ? history.seen(key, broadcast, stored) : broadcast;
    deliver(key, b, null, stored, alloc);
    relay.storedBroadcast(key, b, stored);
  }

  /**
   * A broadcast another pod relayed ({@code stored} when it has a row in {@code realtime.messages}): this pod's
   * subscribers only.
   */
  public void fromOtherPod(TopicKey key, UserBroadcast broadcast, StoredRef stored, ByteBufAllocator alloc) {
    UserBroadcast b = history.active() ? history.seen(key, broadcast, stored) : broadcast;
    deliver(key, b, null, stored, alloc);
  }

  /** A presence change of subscription {@code owner} on this pod, already applied: sent here, then to the others. */
  public void presence(TopicKey key, String owner, PresenceState.Diff diff, ByteBufAllocator alloc) {
    String topic = key.topic();
    SharedPush push = new SharedPush(alloc, (c, a) -> c.encode(a, null, null, topic, "presence_diff", diff::write));
    topics.publish(key, push, null, Audience.PRESENCE, "presence_diff");
    relay.presence(key, owner, diff);
  }

  /** A row change read from the slot on this pod and already routed to its bindings here: to the other pods. */
  public void changeRouted(ChangeRecord change) {
    relay.change(change);
  }

  /**
   * Adds a subscription to its topic (on its event loop) and returns the topic's presence state, filled in with the
   * presences other pods hold.
   */
  public PresenceState join(Subscription subscription) {
    PresenceState state = topics.join(subscription);
    relay.seed(subscription.key(), state);
    return state;
  }

  private void deliver(TopicKey key, UserBroadcast b, Subscription exclude, StoredRef stored, ByteBufAllocator alloc) {
    String topic = key.topic();
    SharedPush push = new SharedPush(alloc, b.size(), (c, a) -> c.encodeBroadcast(a, topic, b));
    topics.publish(key, push, exclude, Audience.ALL, "broadcast", stored);
  }
}
