package io.whatssound.realtime.runtime.channel;

import io.netty.util.concurrent.EventExecutor;
import io.whatssound.realtime.runtime.presence.PresenceState;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The local subscribers of one topic, grouped by event loop so that a fan-out submits one task per
 * loop. Each loop's list is only read and written on that loop.
 */
final class Topic {
  final TopicKey key;
  final Map<EventExecutor, List<Subscription>> byLoop = new ConcurrentHashMap<>();
  final PresenceState presence = new PresenceState();
  /** Subscribers on all loops; changed only inside the registry's compute for this key. */
  int members;

  Topic(TopicKey key) {
    this.key = key;
  }

  List<Subscription> bucket(EventExecutor loop) {
    return byLoop.computeIfAbsent(loop, l -> new ArrayList<>());
  }
}
