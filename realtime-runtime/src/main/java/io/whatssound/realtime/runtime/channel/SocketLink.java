package io.whatssound.realtime.runtime.channel;

import io.netty.channel.Channel;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import io.whatssound.realtime.runtime.protocol.FrameCodec;
import io.whatssound.realtime.runtime.protocol.OutFrame;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outgoing side of one client socket: its Netty channel, its serializer and the slow-consumer
 * policy. Fan-out writes are dropped (and counted) while the socket is over its write-buffer high
 * water mark; a socket that drops {@code maxDrops} messages in a row is disconnected.
 * All methods run on the socket's event loop.
 */
public final class SocketLink {
  private static final Logger LOG = LoggerFactory.getLogger(SocketLink.class);

  private final Channel channel;
  private final FrameCodec codec;
  private final RuntimeMetrics metrics;
  private final int maxDrops;
  private int dropsInARow;
  private boolean dirty;

  public SocketLink(Channel channel, FrameCodec codec, RuntimeMetrics metrics, int maxDrops) {
    this.channel = channel;
    this.codec = codec;
    this.metrics = metrics;
    this.maxDrops = maxDrops;
  }

  public Channel channel() {
    return channel;
  }

  public FrameCodec codec() {
    return codec;
  }

  /** Writes a complete, shared wire frame without flushing; false when dropped for a slow consumer. */
  boolean offer(ByteBuf wire) {
    if (!channel.isActive()) {
      return false;
    }
    if (!channel.isWritable()) {
      metrics.slowConsumerDrop();
      if (++dropsInARow == maxDrops) {
        LOG.info(
            "Disconnecting {}: it did not read {} messages in a row (slow consumer)",
            channel.remoteAddress(), maxDrops);
        metrics.rejected("slow_consumer");
        channel.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.POLICY_VIOLATION, "slow consumer"));
        // the close frame waits behind data the client does not read: do not wait for it
        channel.eventLoop().schedule(() -> { channel.close(); }, 1, TimeUnit.SECONDS);
      }
      return false;
    }
    dropsInARow = 0;
    channel.write(wire.retainedDuplicate(), channel.voidPromise());
    return true;
  }

  /** Whether a flush is owed since the last {@link #flush()}; used by the loop's flusher. */
  boolean markDirty() {
    if (dirty) {
      return false;
    }
    dirty = true;
    return true;
  }

  void flush() {
    dirty = false;
    channel.flush();
  }

  /** Sends a message meant for this socket only (replies, system messages), taking ownership of it. */
  public void send(OutFrame frame) {
    if (frame == null) {
      return;
    }
    if (!channel.isActive()) {
      frame.content().release();
      return;
    }
    metrics.bytesOut(frame.content().readableBytes());
    channel.writeAndFlush(frame.frame(), channel.voidPromise());
  }
}
