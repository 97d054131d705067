package io.whatssound.realtime.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler.ClientHandshakeStateEvent;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One benchmark WebSocket: handshake, heartbeats, joins with their replies, and delivery callbacks.
 * Bench broadcasts are read on the fast path ({@link Wire#readBench}); everything else is parsed.
 */
final class Conn extends SimpleChannelInboundHandler<WebSocketFrame> {
  private static final AtomicLong REFS = new AtomicLong();
  static final long HEARTBEAT_SECONDS = 25;

  /** What a scenario wants to hear about. Called on the connection's event loop. */
  interface Listener {
    /** Sees every frame first; true when it consumed the frame (a scenario's own fast path). */
    default boolean frame(Conn c, WebSocketFrame frame, long nowNanos) {
      return false;
    }

    default void broadcast(Conn c, long seq, long sentNanos, long nowNanos) {}

    /** Any other message: parsed for Phoenix sockets, {@code null} for raw ones. */
    default void push(Conn c, Wire.Msg m, long nowNanos) {}
  }

  final int id;
  final Wire wire;
  private final Listener listener;
  final CompletableFuture<Conn> opened = new CompletableFuture<>();
  final CompletableFuture<Conn> closed = new CompletableFuture<>();
  private final Map<String, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
  private final long[] scratch = new long[2];
  volatile Channel channel;
  private ScheduledFuture<?> heartbeat;
  /** Bench broadcasts received by this socket (written on its loop only). */
  volatile long received;
  volatile int closeCode = -1;
  volatile String closeReason;
  volatile long closedAtNanos;
  volatile long otherPushes;

  /** What this connection reports its frames to. */
  Listener listener() {
    return listener;
  }

  /** Whether this socket speaks Phoenix (heartbeats, joins); a raw subscriber (nchan) only receives. */
  private final boolean phoenix;

  Conn(int id, Wire wire, Listener listener, boolean phoenix) {
    this.id = id;
    this.wire = wire;
    this.listener = listener;
    this.phoenix = phoenix;
  }

  static String nextRef() {
    return Long.toString(REFS.incrementAndGet());
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    channel = ctx.channel();
    super.channelActive(ctx);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt == ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
      channel = ctx.channel();
      if (phoenix) {
        long jitter = (long) (Math.random() * HEARTBEAT_SECONDS * 1000);
        heartbeat =
            ctx.executor()
                .scheduleAtFixedRate(this::sendHeartbeat, jitter, HEARTBEAT_SECONDS * 1000, TimeUnit.MILLISECONDS);
      }
      opened.complete(this);
    } else if (evt == ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
      opened.completeExceptionally(new IllegalStateException("WebSocket handshake timed out"));
      ctx.close();
    }
    super.userEventTriggered(ctx, evt);
  }

  private void sendHeartbeat() {
    Channel ch = channel;
    if (ch != null && ch.isActive()) {
      ch.writeAndFlush(Wire.text(ch.alloc(), wire.envelope(null, nextRef(), "phoenix", "heartbeat", "{}")),
          ch.voidPromise());
    }
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) throws Exception {
    long now = System.nanoTime();
    if (listener.frame(this, frame, now)) {
      return;
    }
    if (Wire.readBench(frame, scratch)) {
      received++;
      listener.broadcast(this, scratch[0], scratch[1], now);
      return;
    }
    if (!phoenix && frame instanceof TextWebSocketFrame) {
      otherPushes++;
      listener.push(this, null, now); // a raw message that is not the bench's: no envelope to parse
      return;
    }
    if (frame instanceof CloseWebSocketFrame close) {
      closeCode = close.statusCode();
      closeReason = close.reasonText();
      ctx.close();
      return;
    }
    if (frame instanceof PingWebSocketFrame) {
      ctx.writeAndFlush(new PongWebSocketFrame(frame.content().retain()));
      return;
    }
    if (frame instanceof PongWebSocketFrame) {
      return;
    }
    Wire.Msg m = wire.parse(frame.content());
    if ("phx_reply".equals(m.event()) && m.ref() != null) {
      CompletableFuture<JsonNode> f = pending.remove(m.ref());
      if (f != null) {
        f.complete(m.payload());
        return;
      }
      if ("phoenix".equals(m.topic())) {
        return;
      }
    }
    otherPushes++;
    listener.push(this, m, now);
  }

  /** Sends a message and completes with the reply's payload ({@code {"status","response"}}). */
  CompletableFuture<JsonNode> call(String joinRef, String topic, String event, String payloadJson) {
    String ref = nextRef();
    CompletableFuture<JsonNode> f = new CompletableFuture<>();
    pending.put(ref, f);
    Channel ch = channel;
    ch.writeAndFlush(Wire.text(ch.alloc(), wire.envelope(joinRef, ref, topic, event, payloadJson)))
        .addListener(w -> {
          if (!w.isSuccess()) {
            pending.remove(ref);
            f.completeExceptionally(w.cause());
          }
        });
    return f;
  }

  /** Joins {@code topic}; completes with the join_ref once the server answered ok. */
  CompletableFuture<String> join(String topic, boolean self, boolean presence, String presenceKey) {
    String joinRef = nextRef();
    return call(joinRef, topic, "phx_join", Wire.joinPayload(self, presence, presenceKey))
        .thenApply(reply -> {
          if (!"ok".equals(reply.path("status").asText())) {
            throw new IllegalStateException("join of " + topic + " refused: " + reply);
          }
          return joinRef;
        });
  }

  /** Writes without waiting for a reply (no flush when {@code flush} is false; call on the loop then). */
  void send(String joinRef, String topic, String event, String payloadJson, boolean flush) {
    Channel ch = channel;
    var frame = Wire.text(ch.alloc(), wire.envelope(joinRef, nextRef(), topic, event, payloadJson));
    if (flush) {
      ch.writeAndFlush(frame, ch.voidPromise());
    } else {
      ch.write(frame, ch.voidPromise());
    }
  }

  void write(WebSocketFrame frame, boolean flush) {
    Channel ch = channel;
    if (flush) {
      ch.writeAndFlush(frame, ch.voidPromise());
    } else {
      ch.write(frame, ch.voidPromise());
    }
  }

  void pause() {
    channel.config().setAutoRead(false);
  }

  void resume() {
    channel.config().setAutoRead(true);
  }

  boolean isOpen() {
    Channel ch = channel;
    return ch != null && ch.isActive();
  }

  CompletableFuture<Conn> close() {
    Channel ch = channel;
    if (ch != null) {
      ch.writeAndFlush(new CloseWebSocketFrame(1000, "bench done")).addListener(f -> ch.close());
    }
    return closed;
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    if (heartbeat != null) {
      heartbeat.cancel(false);
    }
    closedAtNanos = System.nanoTime();
    IllegalStateException gone = new IllegalStateException("socket closed");
    pending.values().forEach(f -> f.completeExceptionally(gone));
    pending.clear();
    opened.completeExceptionally(gone);
    closed.complete(this);
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    opened.completeExceptionally(cause);
    ctx.close();
  }
}
