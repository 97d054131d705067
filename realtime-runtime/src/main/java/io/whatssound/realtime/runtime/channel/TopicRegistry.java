package io.whatssound.realtime.runtime.channel;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.EventExecutor;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import io.whatssound.realtime.runtime.presence.PresenceState;
import io.whatssound.realtime.runtime.protocol.FrameCodec;
import io.whatssound.realtime.runtime.value.StoredRef;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Every topic with local subscribers, and the fan-out to them. A message is encoded once per
 * serializer ({@link SharedPush}) and handed to each event loop that has subscribers in one task,
 * which writes to all of that loop's sockets.
 */
public final class TopicRegistry {
  private final Map<TopicKey, Topic> topics = new ConcurrentHashMap<>();
  private final Map<EventExecutor, LoopFlusher> flushers = new ConcurrentHashMap<>();
  /** Bytes of fan-out work queued on each event loop and not yet written. */
  private final Map<EventExecutor, AtomicLong> backlog = new ConcurrentHashMap<>();
  /** Above this backlog on any loop, new client messages are refused instead of queued. */
  static final long MAX_BACKLOG_BYTES = 64L * 1024 * 1024;
  private final RuntimeMetrics metrics;

  public TopicRegistry(RuntimeMetrics metrics) {
    this.metrics = metrics;
  }

  /** Who receives a fan-out. */
  public enum Audience {
    /** every subscriber */
    ALL,
    /** subscribers that asked for presence */
    PRESENCE,
    /** subscriptions chosen by the caller (e.g. matching Postgres Changes bindings) */
    CHOSEN
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
      var queued = backlog(e.getKey());
      long bytes = (long) push.sizeHint() * Math.max(1, bucket.size());
      queued.addAndGet(bytes);
      e.getKey().execute(() -> {
        try {
          deliver(bucket, push, exclude, audience, kind, stored, start);
        } finally {
          queued.addAndGet(-bytes);
        }
      });
    }
    push.release();
  }

  private AtomicLong backlog(EventExecutor loop) {
    return backlog.computeIfAbsent(loop, l -> new AtomicLong());
  }

  /**
   * Whether the event loops keep up with fan-out: when a loop has more than {@link #MAX_BACKLOG_BYTES}
   * of messages queued for its sockets, client messages are refused (as over the rate limit) so memory
   * stays bounded under overload.
   */
  public boolean acceptsMore() {
    for (var q : backlog.values()) {
      if (q.get() > MAX_BACKLOG_BYTES) {
        metrics.rejected("fanout_backlog");
        return false;
      }
    }
    return true;
  }

  private void deliver(
      List<Subscription> bucket, SharedPush push, Subscription exclude, Audience audience, String kind,
      StoredRef stored, long start) {
    ByteBuf[] local = new ByteBuf[2];
    try {
      if (bucket.isEmpty()) {
        return;
      }
      LoopFlusher flusher = flushers.computeIfAbsent(bucket.get(0).loop(), LoopFlusher::new);
      int sent = 0;
      long bytes = 0;
      for (int i = 0; i < bucket.size(); i++) {
        Subscription s = bucket.get(i);
        if (s == exclude
            || (audience == Audience.PRESENCE && !(s.presenceEnabled() && s.permissions().readPresence()))
            || (audience == Audience.ALL && !s.permissions().readBroadcast())
            || (stored != null && !s.wantsLive(stored))) {
          continue;
        }
        ByteBuf wire = localCopy(push, s.link().codec(), local, bucket.size());
        if (wire != null && s.link().offer(wire)) {
          flusher.mark(s.link());
          sent++;
          bytes += wire.readableBytes();
        }
      }
      if (sent > 0) {
        metrics.delivered(kind, sent, bytes, System.nanoTime() - start);
      }
    } finally {
      for (ByteBuf b : local) {
        if (b != null) {
          b.release();
        }
      }
      push.release();
    }
  }

  /**
   * This loop's own copy of the shared frame when it has many recipients here, so that the reference
   * counting of the many duplicates written on this loop never contends with other loops.
   */
  private static ByteBuf localCopy(SharedPush push, FrameCodec codec, ByteBuf[] local, int recipients) {
    int i = codec.vsn().ordinal();
    if (local[i] == null) {
      ByteBuf shared = push.wireFor(codec);
      if (shared == null) {
        return null;
      }
      local[i] = recipients > LOCAL_COPY_FROM ? shared.copy() : shared.retain();
    }
    return local[i];
  }

  private static final int LOCAL_COPY_FROM = 8;

  /**
   * Delivers one message to chosen subscriptions (e.g. Postgres Changes matches), one task per event
   * loop. Takes over the caller's reference to {@code push}.
   */
  public void deliverTo(List<Subscription> targets, SharedPush push, String kind) {
    long start = System.nanoTime();
    Map<EventExecutor, List<Subscription>> byLoop = new HashMap<>();
    for (Subscription s : targets) {
      byLoop.computeIfAbsent(s.loop(), l -> new ArrayList<>()).add(s);
    }
    for (Map.Entry<EventExecutor, List<Subscription>> e : byLoop.entrySet()) {
      push.retain();
      e.getKey().execute(() -> deliver(e.getValue(), push, null, Audience.CHOSEN, kind, null, start));
    }
    push.release();
  }
}
