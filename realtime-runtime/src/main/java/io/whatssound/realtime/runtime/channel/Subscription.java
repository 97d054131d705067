package io.whatssound.realtime.runtime.channel;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer;
import io.whatssound.realtime.runtime.value.StoredRef;
import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Function;

/**
 * One socket's membership of one channel. Created on join, dropped on leave or disconnect. Its mutable
 * fields are only touched on the socket's event loop.
 */
public final class Subscription {
  private final String id;
  private final SocketLink link;
  private final TopicKey key;
  private final String joinRef;
  private final boolean self;
  private final boolean ack;
  private final String presenceKey;
  private boolean presenceEnabled;
  private VerifiedToken token;
  private ScheduledFuture<?> expiry;
  private Topic topic;
  private volatile String claimsGroup;
  private ChannelAuthorizer.Permissions permissions = ChannelAuthorizer.Permissions.ALL;
  /** Ids of stored messages already sent, while a replay is in progress or done; null without replay. */
  private Set<String> seenStored;
  /** Between the join and the end of its replay. */
  private boolean catchingUp;
  /** With a replay: stored messages older than this (epoch µs) belong to the replay's range or before it. */
  private long replayFloor = Long.MIN_VALUE;

  public Subscription(
      String id, SocketLink link, TopicKey key, String joinRef, boolean self, boolean ack,
      String presenceKey, boolean presenceEnabled, VerifiedToken token) {
    this.id = id;
    this.link = link;
    this.key = key;
    this.joinRef = joinRef;
    this.self = self;
    this.ack = ack;
    this.presenceKey = presenceKey;
    this.presenceEnabled = presenceEnabled;
    this.token = token;
  }

  /** Unique within the cluster; owns this subscription's presence. */
  public String id() {
    return id;
  }

  public SocketLink link() {
    return link;
  }

  public EventExecutor loop() {
    return link.channel().eventLoop();
  }

  public TopicKey key() {
    return key;
  }

  public String topicName() {
    return key.topic();
  }

  public String joinRef() {
    return joinRef;
  }

  public boolean self() {
    return self;
  }

  public boolean ack() {
    return ack;
  }

  public String presenceKey() {
    return presenceKey;
  }

  public boolean presenceEnabled() {
    return presenceEnabled;
  }

  public void enablePresence() {
    presenceEnabled = true;
  }

  /** What this subscription's token may do on its topic. */
  public ChannelAuthorizer.Permissions permissions() {
    return permissions;
  }

  public void permissions(ChannelAuthorizer.Permissions p) {
    permissions = p;
  }

  /** This subscription's group of identical role and claims, computed once per token by {@code keyOf}. */
  public String claimsGroup(Function<VerifiedToken, String> keyOf) {
    String g = claimsGroup;
    if (g == null) {
      g = keyOf.apply(token);
      claimsGroup = g;
    }
    return g;
  }

  public VerifiedToken token() {
    return token;
  }

  /** Replaces the token and its expiry timer. */
  public void token(VerifiedToken newToken, ScheduledFuture<?> newExpiry) {
    cancelExpiry();
    if (newToken != token) {
      claimsGroup = null;
    }
    token = newToken;
    expiry = newExpiry;
  }

  public void cancelExpiry() {
    if (expiry != null) {
      expiry.cancel(false);
      expiry = null;
    }
  }

  /**
   * Starts catching up (latest values, replay): until {@link #replayDone}, every stored message delivered here, live or
   * replayed, is remembered so that none goes out twice. Stored messages older than {@code floorMicros} (the replay's
   * {@code since}) are not sent live: the client did not ask for them.
   */
  public void trackStoredMessages(long floorMicros) {
    seenStored = new HashSet<>();
    catchingUp = true;
    replayFloor = floorMicros;
  }

  /** Whether a stored message is new to this subscription (and remembers it). */
  public boolean firstDelivery(String messageId) {
    return seenStored == null || seenStored.add(messageId);
  }

  /** Whether the live stream should deliver this stored message here. */
  boolean wantsLive(StoredRef stored) {
    if (seenStored == null) {
      return true;
    }
    if (stored.insertedAtMicros() < replayFloor) {
      return false;
    }
    return catchingUp ? seenStored.add(stored.id()) : !seenStored.contains(stored.id());
  }

  /**
   * After catching up: keep only the ids it sent, the only ones the live stream may still repeat; {@code floorMicros}
   * is where the replay started (later than {@code since} when the limit cut older messages off).
   */
  public void replayDone(Collection<String> sentIds, long floorMicros) {
    seenStored = new HashSet<>(sentIds);
    catchingUp = false;
    replayFloor = floorMicros;
  }

  /** Long after a replay: nothing live can repeat it any more. */
  public void forgetReplayed() {
    if (!catchingUp) {
      seenStored = null;
    }
  }

  Topic topic() {
    return topic;
  }

  void topic(Topic t) {
    topic = t;
  }
}
