package io.whatssound.realtime.runtime.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.limits.RateWindow;
import io.whatssound.realtime.runtime.presence.PresenceState;
import io.whatssound.realtime.runtime.protocol.InboundMessage;

/**
 * The {@code presence} event of one socket's channels: track and untrack under the socket's presence rate, and the
 * leave a subscription's end implies. Diffs go out through the broadcaster. Runs on the socket's event loop.
 */
final class PresenceMessages {
  static final String TOO_MANY_PRESENCE = "PresenceRateLimitReached: Too many presence messages";

  private final RuntimeContext rt;
  private final SocketOutput out;
  private final ByteBufAllocator alloc;
  private final RateWindow calls;

  PresenceMessages(RuntimeContext rt, SocketOutput out, ByteBufAllocator alloc) {
    this.rt = rt;
    this.out = out;
    this.alloc = alloc;
    this.calls = rt.limiter().newPresenceWindow();
  }

  /** A client's {@code presence} message: {@code {event: track, payload: {...}}} or {@code {event: untrack}}. */
  void handle(Subscription sub, InboundMessage m) {
    String event = m.payload() == null ? "" : m.payload().path("event").asText("");
    if (!event.equals("track") && !event.equals("untrack")) {
      out.reply(m, "error", SocketOutput.reason("Presence event must be track or untrack"));
      return;
    }
    if (!calls.tryAcquire()) {
      rt.metrics().rejected("presence_calls");
      out.reply(m, "error", SocketOutput.reason(TOO_MANY_PRESENCE));
      return;
    }
    PresenceState state = rt.topics().presence(sub.key()).orElseThrow();
    if (event.equals("untrack")) {
      state.untrack(sub.id()).ifPresent(d -> publish(sub, d));
      out.reply(m, "ok", SocketOutput.EMPTY);
      return;
    }
    if (!(m.payload().get("payload") instanceof ObjectNode fields)) {
      out.reply(m, "error", SocketOutput.reason("Presence track payload must be a map"));
      return;
    }
    if (!sub.permissions().writePresence()) {
      rt.metrics().rejected("unauthorized_write");
      out.reply(m, "error", SocketOutput.reason(
          "Unauthorized: You do not have permissions to track presence on this Channel topic: " + sub.key().subTopic()));
      return;
    }
    state.track(sub.id(), sub.presenceKey(), fields, rt.ids().next()).ifPresent(d -> publish(sub, d));
    out.reply(m, "ok", SocketOutput.EMPTY);
  }

  /** The subscription ends: what it tracked leaves. */
  void ended(Subscription sub) {
    rt.topics().presence(sub.key()).flatMap(p -> p.untrack(sub.id())).ifPresent(d -> publish(sub, d));
  }

  private void publish(Subscription sub, PresenceState.Diff diff) {
    rt.broadcaster().presence(sub.key(), sub.id(), diff, alloc);
  }
}
