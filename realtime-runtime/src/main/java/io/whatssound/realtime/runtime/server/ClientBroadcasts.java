package io.whatssound.realtime.runtime.server;

import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.protocol.FrameException;
import io.whatssound.realtime.runtime.protocol.InboundMessage;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;

/**
 * The {@code broadcast} event of one socket's channels: size, rate and write permission, then the publish path, and
 * the ack when the channel asked for one. Runs on the socket's event loop.
 */
final class ClientBroadcasts {
  static final String TOO_MANY_EVENTS = "Too many messages per second";

  private final RuntimeContext rt;
  private final SocketOutput out;
  private final ByteBufAllocator alloc;

  ClientBroadcasts(RuntimeContext rt, SocketOutput out, ByteBufAllocator alloc) {
    this.rt = rt;
    this.out = out;
    this.alloc = alloc;
  }

  void handle(Subscription sub, InboundMessage m) throws FrameException {
    UserBroadcast b = m.broadcast() != null ? m.broadcast() : UserBroadcast.fromPushPayload(m.payload());
    if (b.size() > rt.config().limits().maxPayloadBytes()) {
      rt.metrics().rejected("payload_size_exceeded");
      out.reply(m, "error", SocketOutput.reason("payload_size_exceeded"));
      return;
    }
    if (!rt.broadcaster().admit(1)) {
      out.reply(m, "error", SocketOutput.reason(TOO_MANY_EVENTS));
      return;
    }
    if (!sub.permissions().writeBroadcast()) {
      rt.metrics().rejected("unauthorized_write");
      out.reply(m, "error", SocketOutput.reason(
          "Unauthorized: You do not have permissions to write to this Channel topic: " + sub.key().subTopic()));
      return;
    }
    rt.broadcaster().fromClient(sub.key(), b, sub.self() ? null : sub, alloc);
    if (sub.ack()) {
      out.reply(m, "ok", SocketOutput.EMPTY);
    }
  }
}
