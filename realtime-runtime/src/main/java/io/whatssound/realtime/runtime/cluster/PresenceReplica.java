package io.whatssound.realtime.runtime.cluster;

import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.channel.SharedPush;
import io.whatssound.realtime.runtime.channel.TopicRegistry.Audience;
import io.whatssound.realtime.runtime.channel.TopicRegistry;
import io.whatssound.realtime.runtime.cluster.ClusterMessage.Snapshot;
import io.whatssound.realtime.runtime.cluster.ClusterMessage.Track;
import io.whatssound.realtime.runtime.cluster.ClusterMessage.Untrack;
import io.whatssound.realtime.runtime.presence.PresenceState;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Presences across pods. Keeps what this pod's subscriptions track (to re-announce it to new or merged
 * members) and, per other pod, what that pod's subscriptions track, so that a topic gaining its first
 * local subscriber starts with everybody's presences and a pod leaving the view takes its presences
 * with it. Local {@link PresenceState}s receive remote changes and their diffs go to local
 * subscribers. Every operation sets an owner's state (track) or removes it (untrack, snapshot), so
 * replays and repeats converge.
 *
 * @param <N> how pods are identified (JGroups addresses)
 */
final class PresenceReplica<N> {
  private final TopicRegistry topics;
  private final ByteBufAllocator alloc;
  private final Map<String, Track> local = new ConcurrentHashMap<>();
  private final Object lock = new Object();
  private final Map<N, Map<String, Track>> byNode = new HashMap<>();
  private final Map<TopicKey, Map<String, Track>> byTopic = new HashMap<>();
  private final Set<PresenceState> seeded = Collections.newSetFromMap(new WeakHashMap<>());
  private Set<N> members = Set.of();

  PresenceReplica(TopicRegistry topics, ByteBufAllocator alloc) {
    this.topics = topics;
    this.alloc = alloc;
  }

  // ---- this pod's presences

  /** Records a local change; returns the message that tells the other pods. */
  ClusterMessage local(TopicKey key, String owner, PresenceState.Diff diff) {
    if (diff.join() != null) {
      Track t = new Track(key, owner, diff.key(), diff.join().ref(), diff.join().fields());
      local.put(owner, t);
      return t;
    }
    local.remove(owner);
    return new Untrack(key, owner);
  }

  /** Everything this pod's subscriptions track. */
  Snapshot snapshot() {
    return new Snapshot(List.copyOf(local.values()));
  }

  // ---- other pods' presences

  /** The current view; presences of pods that left it leave everywhere here. */
  void members(Set<N> current) {
    synchronized (lock) {
      members = Set.copyOf(current);
      for (N gone : new ArrayList<>(byNode.keySet())) {
        if (!members.contains(gone)) {
          for (Track t : byNode.remove(gone).values()) {
            removeRemote(t.key(), t.owner());
          }
        }
      }
    }
  }

  void track(N from, Track t) {
    synchronized (lock) {
      if (!members.contains(from)) {
        return;
      }
      byNode.computeIfAbsent(from, n -> new HashMap<>()).put(t.owner(), t);
      addRemote(t);
    }
  }

  void untrack(N from, Untrack u) {
    synchronized (lock) {
      Map<String, Track> of = byNode.get(from);
      if (of != null && of.remove(u.owner()) != null) {
        removeRemote(u.key(), u.owner());
      }
    }
  }

  /** Replaces what {@code from} owns by its snapshot. */
  void snapshot(N from, Snapshot s) {
    synchronized (lock) {
      if (!members.contains(from)) {
        return;
      }
      Map<String, Track> fresh = new HashMap<>();
      s.entries().forEach(t -> fresh.put(t.owner(), t));
      Map<String, Track> old = byNode.put(from, fresh);
      if (old != null) {
        for (Track t : old.values()) {
          if (!fresh.containsKey(t.owner())) {
            removeRemote(t.key(), t.owner());
          }
        }
      }
      fresh.values().forEach(this::addRemote);
    }
  }

  /** Fills a topic's local state with other pods' presences, once per state. */
  void seed(TopicKey key, PresenceState state) {
    synchronized (lock) {
      if (!seeded.add(state)) {
        return;
      }
      Map<String, Track> of = byTopic.get(key);
      if (of != null) {
        for (Track t : of.values()) {
          state.track(t.owner(), t.presenceKey(), t.fields(), t.ref());
        }
      }
    }
  }

  /** Presences other pods own, for metrics and tests. */
  int remoteCount() {
    synchronized (lock) {
      return byNode.values().stream().mapToInt(Map::size).sum();
    }
  }

  private void addRemote(Track t) {
    byTopic.computeIfAbsent(t.key(), k -> new HashMap<>()).put(t.owner(), t);
    topics.presence(t.key())
        .flatMap(st -> st.track(t.owner(), t.presenceKey(), t.fields(), t.ref()))
        .ifPresent(d -> publish(t.key(), d));
  }

  private void removeRemote(TopicKey key, String owner) {
    Map<String, Track> of = byTopic.get(key);
    if (of != null) {
      of.remove(owner);
      if (of.isEmpty()) {
        byTopic.remove(key);
      }
    }
    topics.presence(key).flatMap(st -> st.untrack(owner)).ifPresent(d -> publish(key, d));
  }

  /** Sends a diff to the topic's local presence subscribers, as the local path does. */
  private void publish(TopicKey key, PresenceState.Diff diff) {
    String topic = key.topic();
    SharedPush push =
        new SharedPush(alloc, (c, a) -> c.encode(a, null, null, topic, "presence_diff", diff::write));
    topics.publish(key, push, null, Audience.PRESENCE, "presence_diff");
  }
}
