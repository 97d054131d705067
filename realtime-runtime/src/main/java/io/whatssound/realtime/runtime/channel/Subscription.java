package io.whatssound.realtime.runtime.channel;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.whatssound.realtime.runtime.auth.VerifiedToken;

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

  public VerifiedToken token() {
    return token;
  }

  /** Replaces the token and its expiry timer. */
  public void token(VerifiedToken newToken, ScheduledFuture<?> newExpiry) {
    cancelExpiry();
    token = newToken;
    expiry = newExpiry;
  }

  public void cancelExpiry() {
    if (expiry != null) {
      expiry.cancel(false);
      expiry = null;
    }
  }

  Topic topic() {
    return topic;
  }

  void topic(Topic t) {
    topic = t;
  }
}
