package io.whatssound.realtime.runtime.server;

import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.channel.SocketLink;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import io.whatssound.realtime.runtime.protocol.FrameCodec;
import io.whatssound.realtime.runtime.protocol.InboundMessage;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;

/**
 * What one socket sends of its own (replies, channel pushes, system messages, replayed broadcasts), encoded with its
 * serializer and written through its {@link SocketLink}; fan-out reaches the link through the topic registry instead.
 * On the socket's event loop.
 */
final class SocketOutput {
  static final Json.GeneratorWriter EMPTY =
      g -> {
        g.writeStartObject();
        g.writeEndObject();
      };

  private final RuntimeMetrics metrics;
  private final SocketLink link;
  private final FrameCodec codec;
  private final ByteBufAllocator alloc;

  SocketOutput(RuntimeMetrics metrics, SocketLink link, FrameCodec codec, ByteBufAllocator alloc) {
    this.metrics = metrics;
    this.link = link;
    this.codec = codec;
    this.alloc = alloc;
  }

  /** {@code {"reason": reason}}, the response of an error reply. */
  static Json.GeneratorWriter reason(String reason) {
    return g -> {
      g.writeStartObject();
      g.writeStringField("reason", reason);
      g.writeEndObject();
    };
  }

  /** A {@code phx_reply} to {@code m}. */
  void reply(InboundMessage m, String status, Json.GeneratorWriter response) {
    metrics.messageOut("reply");
    link.send(
        codec.encode(
            alloc, m.joinRef(), m.ref(), m.topic(), "phx_reply",
            g -> {
              g.writeStartObject();
              g.writeStringField("status", status);
              g.writeFieldName("response");
              response.write(g);
              g.writeEndObject();
            }));
  }

  /** An event on a subscription's channel. */
  void push(Subscription sub, String event, String ref, Json.GeneratorWriter payload) {
    metrics.messageOut(event);
    link.send(codec.encode(alloc, sub.joinRef(), ref, sub.topicName(), event, payload));
  }

  /** A {@code system} message on a subscription's channel. */
  void system(Subscription sub, String extension, String status, String message) {
    push(
        sub, "system", null,
        g -> {
          g.writeStartObject();
          g.writeStringField("extension", extension);
          g.writeStringField("status", status);
          g.writeStringField("message", message);
          g.writeStringField("channel", sub.key().subTopic());
          g.writeEndObject();
        });
  }

  /** The {@code system} message that ends a replay on a history topic (PROTOCOL.md). */
  void replaySummary(Subscription sub, int replayed, boolean complete) {
    push(
        sub, "system", null,
        g -> {
          g.writeStartObject();
          g.writeStringField("extension", "broadcast");
          g.writeStringField("status", "ok");
          g.writeStringField("message", "Replayed " + replayed + " messages");
          g.writeStringField("channel", sub.key().subTopic());
          g.writeNumberField("replayed", replayed);
          g.writeBooleanField("complete", complete);
          g.writeEndObject();
        });
  }

  /** A broadcast to this socket alone (a replayed one). */
  void broadcast(Subscription sub, UserBroadcast broadcast) {
    metrics.messageOut("broadcast");
    link.send(codec.encodeBroadcast(alloc, sub.topicName(), broadcast));
  }
}
