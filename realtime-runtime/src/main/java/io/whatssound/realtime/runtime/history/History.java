package io.whatssound.realtime.runtime.history;

import io.whatssound.realtime.runtime.config.HistorySettings;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.EpochMicros;
import io.whatssound.realtime.runtime.value.StoredRef;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Broadcast history, replay and latest values (PROTOCOL.md, "History, recovery and latest values").
 *
 * <p>The database ({@link MessageStore}) is the record. This pod also keeps, per topic, its newest messages in a ring
 * and the latest value of each latest event, fed by every broadcast it sees: its own, other pods' and the
 * database's. A replay whose {@code since} the ring covers is served from memory; otherwise the rows are read and
 * merged with the ring, which holds what is published but not stored yet. The ring covers a topic from the moment
 * this pod started seeing the whole cluster's messages ({@link #gap}) or from its oldest evicted message.
 *
 * <p>Thread-safe: called from event loops, the cluster's receiver and the slot reader.
 */
public final class History {
  private static final Logger LOG = LoggerFactory.getLogger(History.class);
  /** Newest messages kept per topic. */
  static final int RING_SIZE = 256;
  /** Memory for rings and latest values of all topics; the least recently used topics go first. */
  static final long MAX_BYTES = 64L * 1024 * 1024;
  /** Clocks of pods differ a little: the ring is trusted this much after its coverage starts. */
  static final long SKEW_MARGIN_MICROS = 1_000_000;

  /** A replay's messages, oldest first, and whether they are all that matched. */
  public record Replay(List<Kept> messages, boolean complete) {}

  private final HistorySettings settings;
  private final HistorySettings.TopicMatcher matcher;
  private final Clock clock;
  private final Optional<MessageStore> store;
  private final LinkedHashMap<TopicKey, Memory> memory = new LinkedHashMap<>(64, 0.75f, true);
  private long bytes;
  /** Before this (epoch µs) the rings may miss messages. */
  private long coveredFrom;
  private long lastStamp;
  /** Whether a topic's memory was ever dropped to stay within {@link #MAX_BYTES}. */
  private boolean evicted;

  public History(HistorySettings settings, Clock clock, Optional<MessageStore> store) {
    this.settings = settings;
    this.matcher = settings.matcher();
    this.clock = clock;
    this.store = store;
    this.coveredFrom = now();
  }

  /** Nothing kept, no database: Supabase's behaviour. */
  public static History off() {
    return new History(HistorySettings.off(), Clock.systemUTC(), Optional.empty());
  }

  public HistorySettings settings() {
    return settings;
  }

  private long now() {
    return EpochMicros.of(clock.instant());
  }

  /**
   * The time of a message published here: now, but always after the previous one, so that messages published in the
   * same microsecond (a REST batch) keep their order in every replay.
   */
  private synchronized long stamp() {
    long t = Math.max(now(), lastStamp + 1);
    lastStamp = t;
    return t;
  }

  /** Whether broadcasts on this topic are stored and may be replayed. */
  public boolean keeps(TopicKey key) {
    return matcher.matches(key.subTopic());
  }

  /** Whether anything at all is kept: history topics or latest events. */
  public boolean active() {
    return !settings.topics().isEmpty() || !settings.latestEvents().isEmpty();
  }

  /**
   * A broadcast published on this pod: on a history topic it gets its identity (a REST message's own UUID
   * {@code meta.id} or a new one, and now), is remembered and queued for storing. Returns what to deliver: with
   * {@code meta {id, at}} and its {@link StoredRef}, or the broadcast as it was on other topics.
   */
  public Published publish(TopicKey key, UserBroadcast broadcast) {
    if (!keeps(key)) {
      remember(key, broadcast, null);
      return new Published(broadcast, null);
    }
    String id = broadcast.meta() != null && broadcast.meta().path("id").isTextual()
        ? broadcast.meta().get("id").textValue() : UUID.randomUUID().toString();
    Kept k = Kept.of(broadcast, id, stamp());
    remember(key, broadcast, k);
    store.ifPresent(s -> s.offer(key, k));
    return new Published(k.live(), k.ref());
  }

  /** What {@link #publish} hands to delivery. */
  public record Published(UserBroadcast broadcast, StoredRef stored) {}

  /**
   * A broadcast this pod did not publish: from another pod or read from the database ({@code stored} when it has an
   * identity). Remembered; returns it as delivered live (with {@code meta.at} on history topics).
   */
  public UserBroadcast seen(TopicKey key, UserBroadcast broadcast, StoredRef stored) {
    if (stored == null || !keeps(key)) {
      remember(key, broadcast, null);
      return broadcast;
    }
    Kept k = Kept.of(broadcast, stored);
    remember(key, broadcast, k);
    return k.live();
  }

  private void remember(TopicKey key, UserBroadcast broadcast, Kept kept) {
    boolean latest = settings.latestEvents().contains(broadcast.event());
    if (kept == null && !latest) {
      return;
    }
    synchronized (this) {
      Memory m = memory.computeIfAbsent(key, k -> newMemory());
      if (kept != null) {
        bytes += m.add(kept);
      }
      if (latest) {
        Kept value = kept != null ? kept : Kept.of(broadcast, null, now());
        bytes += m.latest(value);
      }
      trim();
    }
  }

  private void trim() {
    Iterator<Map.Entry<TopicKey, Memory>> it = memory.entrySet().iterator();
    while (bytes > MAX_BYTES && it.hasNext()) {
      bytes -= it.next().getValue().bytes;
      it.remove();
      evicted = true;
    }
  }

  /** Memory of a topic seen for the first time; once any topic was evicted, a new one may have lost messages. */
  private Memory newMemory() {
    return new Memory(evicted ? now() : Long.MIN_VALUE);
  }

  /**
   * The cluster view changed after a split: messages of the time apart may be missing from memory, so replays read
   * the database again for anything before now.
   */
  public synchronized void gap() {
    coveredFrom = now();
  }

  /**
   * The latest values of the topic, one per latest event that has one, oldest first. On a history topic the database
   * is asked once per topic on this pod (a restarted pod knows nothing); other topics only have what this pod saw.
   */
  public CompletableFuture<List<Kept>> latest(TopicKey key) {
    if (settings.latestEvents().isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    boolean load;
    synchronized (this) {
      Memory m = memory.get(key);
      load = keeps(key) && store.isPresent() && (m == null || !m.latestLoaded);
      if (!load) {
        return CompletableFuture.completedFuture(m == null ? List.of() : m.latestValues());
      }
    }
    long since = clock.millis() - settings.retention().toMillis();
    return store.get().latest(key, settings.latestEvents(), since).handle((rows, failure) -> {
      synchronized (this) {
        Memory m = memory.computeIfAbsent(key, k -> newMemory());
        if (failure == null) {
          for (Kept k : rows) {
            bytes += m.latest(k);
          }
          m.latestLoaded = true;
        } else {
          LOG.warn("Latest values of {} not read from the database: {}", key.topic(), failure.getMessage());
        }
        List<Kept> out = m.latestValues();
        trim();
        return out;
      }
    });
  }

  /**
   * The topic's messages since {@code sinceMillis}, oldest first, at most {@code limit} (the newest ones):
   * complete when no more matched and {@code since} is within the retention. From memory when it covers
   * {@code since}, else from the database merged with memory. When the database cannot be read, what memory holds
   * is sent, marked incomplete.
   */
  public CompletableFuture<Replay> replay(TopicKey key, long sinceMillis, int limit) {
    long since = Math.multiplyExact(sinceMillis, 1000L);
    boolean withinRetention = since >= now() - settings.retention().toNanos() / 1000;
    List<Kept> remembered;
    boolean covered;
    synchronized (this) {
      Memory m = memory.get(key);
      remembered = m == null ? List.of() : m.since(since);
      long from = Math.max(coveredFrom, m == null ? coveredFrom : m.completeFrom) + SKEW_MARGIN_MICROS;
      covered = since >= from;
    }
    if (covered || store.isEmpty()) {
      return CompletableFuture.completedFuture(newest(remembered, limit, withinRetention && covered));
    }
    return store.get().newest(key, sinceMillis, limit + 1).handle((rows, failure) -> {
      if (failure != null) {
        LOG.warn("Replay of {} from the database failed ({}); sending what memory holds", key.topic(),
            failure.getMessage());
        return newest(remembered, limit, false);
      }
      Map<String, Kept> byId = new HashMap<>();
      rows.forEach(k -> byId.put(k.id(), k));
      remembered.forEach(k -> byId.putIfAbsent(k.id(), k));
      return newest(new ArrayList<>(byId.values()), limit, withinRetention);
    });
  }

  /** Stored messages of a topic without history (Supabase's replay of private channels): from the database only. */
  public CompletableFuture<List<Kept>> stored(TopicKey key, long sinceMillis, int limit) {
    if (store.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    return store.get().newest(key, sinceMillis, limit).thenApply(rows -> {
      List<Kept> out = new ArrayList<>(rows);
      out.sort(ORDER);
      return out;
    });
  }

  private static final Comparator<Kept> ORDER =
      Comparator.comparingLong(Kept::at).thenComparing(Kept::id, Comparator.nullsFirst(Comparator.naturalOrder()));

  private static Replay newest(List<Kept> matched, int limit, boolean completeSoFar) {
    List<Kept> sorted = new ArrayList<>(matched);
    sorted.sort(ORDER);
    boolean complete = completeSoFar && sorted.size() <= limit;
    List<Kept> out = sorted.size() <= limit ? sorted : sorted.subList(sorted.size() - limit, sorted.size());
    return new Replay(List.copyOf(out), complete);
  }

  /** What this pod keeps of one topic. */
  private static final class Memory {
    private final ArrayDeque<Kept> ring = new ArrayDeque<>();
    private final Map<String, Kept> latest = new LinkedHashMap<>();
    /** The ring holds every message seen since this (epoch µs). */
    private long completeFrom;
    private boolean latestLoaded;
    private long bytes;

    Memory(long completeFrom) {
      this.completeFrom = completeFrom;
    }

    /** Adds a message; returns the change in bytes. */
    long add(Kept k) {
      long before = bytes;
      ring.addLast(k);
      bytes += k.bytes();
      while (ring.size() > RING_SIZE) {
        Kept old = ring.removeFirst();
        bytes -= old.bytes();
        completeFrom = Math.max(completeFrom, old.at() + 1);
      }
      return bytes - before;
    }

    /** Sets a latest value unless a newer one is known; returns the change in bytes. */
    long latest(Kept k) {
      Kept cur = latest.get(k.event());
      if (cur != null && cur.at() > k.at()) {
        return 0;
      }
      latest.put(k.event(), k);
      long delta = k.bytes() - (cur == null ? 0 : cur.bytes());
      bytes += delta;
      return delta;
    }

    List<Kept> latestValues() {
      List<Kept> out = new ArrayList<>(latest.values());
      out.sort(ORDER);
      return out;
    }

    List<Kept> since(long sinceMicros) {
      List<Kept> out = new ArrayList<>();
      for (Kept k : ring) {
        if (k.at() >= sinceMicros) {
          out.add(k);
        }
      }
      return out;
    }
  }
}
