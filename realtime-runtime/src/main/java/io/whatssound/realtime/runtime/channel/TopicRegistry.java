package io.whatssound.realtime.runtime.channel;

import io.netty.util.concurrent.EventExecutor;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import io.whatssound.realtime.runtime.presence.PresenceState;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every topic with local subscribers, and the fan-out to them. A message is encoded once per
 * serializer ({@link SharedPush}) and handed to each event loop that has subscribers in one task,
 * which writes to all of that loop's sockets.
 */
public final class TopicRegistry {
  private final Map<TopicKey, Topic> topics = new ConcurrentHashMap<>();
  private final RuntimeMetrics metrics;

  public TopicRegistry(RuntimeMetrics metrics) {
    this.metrics = metrics;
  }

  /** Who receives a fan-out. */
  public enum Audience {
    /** every subscriber */
    ALL,
    /** subscribers that asked for presence */
    PRESENCE
  }

  /** Adds a subscription; call on its event loop. */
  public PresenceState join(Subscription s) {
    Topic t =
        topics.compute(
            s.key(),
            (k, cur) -> {
              Topic x = cur == null ? new Topic(k) : cur;
              x.members++;
              return x;
            });
    s.topic(t);
    t.bucket(s.loop()).add(s);
    metrics.channelJoined();
    return t.presence;
  }

  /** Removes a subscription; call on its event loop. */
  public void leave(Subscription s) {
    Topic t = s.topic();
    if (t == null) {
      return;
    }
    s.topic(null);
    t.bucket(s.loop()).remove(s);
    topics.computeIfPresent(s.key(), (k, cur) -> cur != t || --cur.members > 0 ? cur : null);
    metrics.channelLeft();
  }

  public Optional<PresenceState> presence(TopicKey key) {
    return Optional.ofNullable(topics.get(key)).map(t -> t.presence);
  }

  public int topicCount() {
    return topics.size();
  }

  /**
   * Delivers a message to the topic's local subscribers, except {@code exclude}. Takes over the
   * caller's reference to {@code push}.
   */
  public void publish(TopicKey key, SharedPush push, Subscription exclude, Audience audience, String kind) {
    publish(key, push, exclude, audience, kind, null);
  }

  /**
   * Like {@link #publish(TopicKey, SharedPush, Subscription, Audience, String)} for a message stored in the
   * database: subscriptions that replay skip what the replay covers.
   */
  public void publish(
      TopicKey key, SharedPush push, Subscription exclude, Audience audience, String kind, StoredRef stored) {
    Topic t = topics.get(key);
    if (t == null) {
      push.release();
      return;
    }
    long start = System.nanoTime();
    for (Map.Entry<EventExecutor, List<Subscription>> e : t.byLoop.entrySet()) {
      List<Subscription> bucket = e.getValue();
      push.retain();
      e.getKey().execute(() -> deliver(bucket, push, exclude, audience, kind, stored, start));
    }
    push.release();
  }

  private void deliver(
      List<Subscription> bucket, SharedPush push, Subscription exclude, Audience audience, String kind,
      StoredRef stored, long start) {
    try {
      int sent = 0;
      long bytes = 0;
      for (int i = 0; i < bucket.size(); i++) {
        Subscription s = bucket.get(i);
        if (s == exclude
            || (audience == Audience.PRESENCE && !s.presenceEnabled())
            || (stored != null && !s.wantsLive(stored))) {
          continue;
        }
        var frame = push.frameFor(s.link().codec());
        if (frame != null && s.link().offer(frame)) {
          sent++;
          bytes += frame.content().readableBytes();
        }
      }
      for (int i = 0; i < bucket.size(); i++) {
        bucket.get(i).link().flush();
      }
      if (sent > 0) {
        metrics.delivered(kind, sent, bytes, System.nanoTime() - start);
      }
    } finally {
      push.release();
    }
  }

  /**
   * Delivers one message to chosen subscriptions (e.g. Postgres Changes matches), one task per event
   * loop. Takes over the caller's reference to {@code push}.
   */
  public void deliverTo(List<Subscription> targets, SharedPush push, String kind) {
    long start = System.nanoTime();
    Map<EventExecutor, List<Subscription>> byLoop = new java.util.HashMap<>();
    for (Subscription s : targets) {
      byLoop.computeIfAbsent(s.loop(), l -> new java.util.ArrayList<>()).add(s);
    }
    for (Map.Entry<EventExecutor, List<Subscription>> e : byLoop.entrySet()) {
      push.retain();
      e.getKey().execute(() -> deliver(e.getValue(), push, null, Audience.ALL, kind, null, start));
    }
    push.release();
  }
}
