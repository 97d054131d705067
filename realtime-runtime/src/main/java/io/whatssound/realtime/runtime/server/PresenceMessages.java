package io.whatssound.realtime.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.limits.RateWindow;
import io.whatssound.realtime.runtime.presence.PresenceState;
import io.whatssound.realtime.runtime.protocol.InboundMessage;
import io.whatssound.realtime.runtime.protocol.Json;
import java.util.Locale;

/**
 * The {@code presence} event of one socket's channels: track and untrack under the socket's presence rate, and the
 * leave a subscription's end implies. Diffs go out through the broadcaster. Replies follow Supabase's presence
 * handler: a message over the rate, or a track over the payload limit, closes the channel. Runs on the socket's event
 * loop.
 */
final class PresenceMessages {
  static final String TOO_MANY_PRESENCE = "Client presence rate limit exceeded";
  static final String TRACK_TOO_LARGE = "Track message size exceeded";

  private final RuntimeContext rt;
  private final SocketSession session;
  private final SocketOutput out;
  private final ByteBufAllocator alloc;
  private final RateWindow calls;

  PresenceMessages(RuntimeContext rt, SocketSession session, SocketOutput out, ByteBufAllocator alloc) {
    this.rt = rt;
    this.session = session;
    this.out = out;
    this.alloc = alloc;
    this.calls = rt.limiter().newPresenceWindow();
  }

  /** A client's {@code presence} message: {@code {event: track, payload: {...}}} or {@code {event: untrack}}. */
  void handle(Subscription sub, InboundMessage m) {
    JsonNode eventField = m.payload() == null ? null : m.payload().get("event");
    if (eventField == null) {
      out.reply(m, "ok", SocketOutput.EMPTY); // nothing asked, nothing counted
      return;
    }
    if (!calls.tryAcquire()) {
      rt.metrics().rejected("presence_calls");
      session.close(sub, TOO_MANY_PRESENCE);
      return;
    }
    String event = eventField.asText("").toLowerCase(Locale.ROOT);
    if (!event.equals("track") && !event.equals("untrack")) {
      out.reply(m, "error", SocketOutput.EMPTY);
      return;
    }
    PresenceState state = rt.topics().presence(sub.key()).orElseThrow();
    if (event.equals("untrack")) {
      state.untrack(sub.id()).ifPresent(d -> publish(sub, d));
      out.reply(m, "ok", SocketOutput.EMPTY);
      return;
    }
    JsonNode payload = m.payload().get("payload");
    ObjectNode fields;
    if (payload == null) {
      fields = Json.MAPPER.createObjectNode();
    } else if (payload instanceof ObjectNode o) {
      fields = o;
    } else {
      out.reply(m, "error", SocketOutput.reason("Presence track payload must be a map"));
      return;
    }
    if (Json.bytes(fields).length > rt.config().limits().maxPayloadBytes()) {
      rt.metrics().rejected("payload_size_exceeded");
      session.close(sub, TRACK_TOO_LARGE);
      return;
    }
    if (!sub.permissions().writePresence()) {
      rt.metrics().rejected("unauthorized_write");
      out.reply(m, "error", SocketOutput.EMPTY);
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
