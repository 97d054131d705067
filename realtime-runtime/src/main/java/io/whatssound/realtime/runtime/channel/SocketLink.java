package io.whatssound.realtime.runtime.channel;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelOutboundInvoker;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import io.whatssound.realtime.runtime.protocol.FrameCodec;
import io.whatssound.realtime.runtime.protocol.OutFrame;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
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
  /** Where shared frames enter the pipeline: next to its head, past every encoder (they are complete). */
  private final ChannelOutboundInvoker out;
  private final FrameCodec codec;
  private final RuntimeMetrics metrics;
  private final int maxDrops;
  private int dropsInARow;
  private boolean dirty;
  /** Disconnecting as a slow consumer: nothing more is written. */
  private boolean closing;
  private final Duration closeGrace;

  /** How long a slow consumer being disconnected has to read up to its close frame. */
  public static final Duration SLOW_CLOSE_GRACE = Duration.ofSeconds(30);

  public SocketLink(Channel channel, FrameCodec codec, RuntimeMetrics metrics, int maxDrops) {
    this(channel, codec, metrics, maxDrops, SLOW_CLOSE_GRACE);
  }

  public SocketLink(Channel channel, FrameCodec codec, RuntimeMetrics metrics, int maxDrops, Duration closeGrace) {
    this.channel = channel;
    ChannelHandlerContext entry = channel.pipeline().context(ENTRY);
    this.out = entry != null ? entry : channel;
    this.codec = codec;
    this.metrics = metrics;
    this.maxDrops = maxDrops;
    this.closeGrace = closeGrace;
  }

  public Channel channel() {
    return channel;
  }

  public FrameCodec codec() {
    return codec;
  }

  /** Writes a complete, shared wire frame without flushing; false when dropped for a slow consumer. */
  boolean offer(ByteBuf wire) {
    if (closing || !channel.isActive()) {
      return false;
    }
    if (!channel.isWritable()) {
      metrics.slowConsumerDrop();
      if (++dropsInARow >= maxDrops) {
        closeSlow();
      }
      return false;
    }
    dropsInARow = 0;
    out.write(wire.retainedDuplicate(), channel.voidPromise());
    return true;
  }

  /**
   * Ends a socket that stopped reading. Nothing more is written to it; the close frame (1008 "slow
   * consumer") goes behind what is already queued, so a client that reads again learns why it was
   * dropped. The socket closes once the close frame has left for the kernel, or after the grace period
   * if the client never reads; memory held meanwhile is bounded by the write-buffer high water mark.
   */
  private void closeSlow() {
    closing = true;
    LOG.info("Disconnecting {}: it did not read {} messages in a row (slow consumer)", channel.remoteAddress(), maxDrops);
    metrics.rejected("slow_consumer");
    ScheduledFuture<?> deadline = channel.eventLoop().schedule(() -> {
      channel.close();
    }, closeGrace.toMillis(), TimeUnit.MILLISECONDS);
    channel.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.POLICY_VIOLATION, "slow consumer"))
        .addListener(f -> {
          deadline.cancel(false);
          channel.close();
        });
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
    out.flush();
  }

  /** The name of the {@link Entry} handler in a socket's pipeline. */
  public static final String ENTRY = "fanout-entry";

  /**
   * Marks the spot next to the pipeline's head where fan-out writes its complete frames, so that each
   * recipient's write skips the encoders and handlers it does not need. Add it first in the pipeline.
   */
  @ChannelHandler.Sharable
  public static final class Entry extends ChannelOutboundHandlerAdapter {
    public static final Entry INSTANCE = new Entry();

    private Entry() {}
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
