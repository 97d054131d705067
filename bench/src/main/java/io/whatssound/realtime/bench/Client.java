package io.whatssound.realtime.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * Opens benchmark WebSockets to one server. Each socket binds a local address from
 * 127.0.0.2..127.0.0.N in turn ({@code --sources N}), so the ~28k ephemeral ports of one source
 * address do not cap the connection count.
 *
 * <p>{@code --target runtime} (the default) speaks Phoenix channels to the runtime. {@code --target nchan} opens raw
 * WebSocket subscribers on {@code <url>/<channel>} of nginx's nchan module (the peer of the fan-out comparison), which
 * publishes over HTTP on {@code /pub/<channel>}; the bench payload is the whole message there.
 */
final class Client implements AutoCloseable {
  final EventLoopGroup group;
  private final boolean epoll;
  final URI base;
  final Wire wire;
  final Tokens tokens;
  final String anonKey;
  final String serviceKey;
  private final List<InetAddress> sources = new ArrayList<>();
  private final AtomicInteger nextSource = new AtomicInteger();
  private final AtomicInteger ids = new AtomicInteger();
  /** Raw subscribers (nchan): no Phoenix envelope, heartbeat or join; the channel is in the socket's path. */
  final boolean raw;
  private volatile String rawChannel = "";

  Client(Options o) {
    this(o, o.str("url", "ws://127.0.0.1:4000/socket/websocket"));
  }

  /** A client of the runtime at {@code url} (e.g. another pod of the same cluster). */
  Client(Options o, String url) {
    this.base = URI.create(url);
    if (!"ws".equals(base.getScheme())) {
      throw new IllegalArgumentException("--url must be a ws:// URL (loopback benchmark), got " + url);
    }
    this.raw = switch (o.str("target", "runtime")) {
      case "runtime" -> false;
      case "nchan" -> true;
      default -> throw new IllegalArgumentException("--target must be runtime or nchan, got " + o.str("target", ""));
    };
    this.wire = new Wire(o.str("vsn", "2.0.0"));
    this.tokens = new Tokens(o.str("secret", System.getenv("REALTIME_JWT_SECRET")));
    this.anonKey = tokens.sign("anon");
    this.serviceKey = tokens.sign("service_role");
    int n = o.integer("sources", 8);
    try {
      if (base.getHost().startsWith("127.")) {
        for (int i = 2; i <= Math.max(2, n); i++) {
          sources.add(InetAddress.getByName("127.0.0." + i));
        }
      }
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
    int threads = o.integer("threads", Runtime.getRuntime().availableProcessors());
    this.epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    this.group = new MultiThreadIoEventLoopGroup(threads, io);
  }

  /** The channel raw subscribers connect to (their path's last segment). */
  void rawChannel(String channel) {
    this.rawChannel = channel;
  }

  /** The path raw publishers post to for {@code channel}. */
  static String rawPublishPath(String channel) {
    return "/pub/" + channel;
  }

  /** Connects one socket with the anon key; {@code rcvBuf} > 0 shrinks its receive buffer. */
  CompletableFuture<Conn> connect(Conn.Listener listener, int rcvBuf) {
    URI uri = raw
        ? URI.create(base.toString().replaceAll("/+$", "") + "/" + rawChannel)
        : URI.create(base + (base.getQuery() == null ? "?" : "&") + "apikey=" + anonKey + "&vsn=" + wire.vsn());
    Conn conn = new Conn(ids.incrementAndGet(), wire, listener, !raw);
    WebSocketClientProtocolConfig config =
        WebSocketClientProtocolConfig.newBuilder()
            .webSocketUri(uri)
            .version(WebSocketVersion.V13)
            .customHeaders(new DefaultHttpHeaders())
            .maxFramePayloadLength(64 << 20)
            .handleCloseFrames(false)
            .dropPongFrames(true)
            .handshakeTimeoutMillis(30_000)
            .build();
    Bootstrap b =
        new Bootstrap()
            .group(group)
            .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 30_000)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(new HttpClientCodec())
                        .addLast(new HttpObjectAggregator(1 << 16))
                        .addLast(new WebSocketClientProtocolHandler(config))
                        .addLast(conn);
                  }
                });
    if (rcvBuf > 0) {
      b.option(ChannelOption.SO_RCVBUF, rcvBuf);
    }
    InetSocketAddress remote = new InetSocketAddress(base.getHost(), base.getPort() < 0 ? 80 : base.getPort());
    var f =
        sources.isEmpty()
            ? b.connect(remote)
            : b.connect(remote, new InetSocketAddress(sources.get(Math.floorMod(nextSource.getAndIncrement(), sources.size())), 0));
    f.addListener(cf -> {
      if (!cf.isSuccess()) {
        conn.opened.completeExceptionally(cf.cause());
        conn.closed.complete(conn);
      }
    });
    return conn.opened;
  }

  /**
   * Opens {@code n} sockets, at most {@code inFlight} handshakes (and their follow-up, e.g. a join)
   * at a time, and returns them in order; fails on the first error.
   */
  List<Conn> connectMany(
      int n, int inFlight, IntFunction<Conn.Listener> listeners, Function<Conn, CompletableFuture<?>> then, int rcvBuf)
      throws InterruptedException {
    Semaphore permits = new Semaphore(inFlight);
    List<CompletableFuture<Conn>> all = new ArrayList<>(n);
    long start = System.nanoTime();
    long lastPrint = start;
    for (int i = 0; i < n; i++) {
      permits.acquire();
      CompletableFuture<Conn> f =
          connect(listeners.apply(i), rcvBuf)
              .thenCompose(c -> then.apply(c).thenApply(x -> c));
      f.whenComplete((c, e) -> permits.release());
      all.add(f);
      if (f.isCompletedExceptionally()) {
        break;
      }
      long now = System.nanoTime();
      if (now - lastPrint > 5_000_000_000L) {
        lastPrint = now;
        System.out.printf("  ... %d/%d sockets opened (%.0f/s)%n", i, n, i / ((now - start) / 1e9));
      }
    }
    List<Conn> out = new ArrayList<>(n);
    for (CompletableFuture<Conn> f : all) {
      try {
        out.add(f.get(60, TimeUnit.SECONDS));
      } catch (Exception e) {
        Throwable c = e.getCause() == null ? e : e.getCause();
        throw new IllegalStateException("Socket " + (out.size() + 1) + " of " + n + " failed: " + c
            + " (is the runtime up, are REALTIME_MAX_CONCURRENT_USERS / REALTIME_MAX_JOINS_PER_SECOND high enough,"
            + " is ulimit -n high enough on both sides?)", c);
      }
    }
    return out;
  }

  static void closeAll(List<Conn> conns, long waitMillis) {
    List<CompletableFuture<Conn>> fs = new ArrayList<>();
    for (Conn c : conns) {
      fs.add(c.close());
    }
    try {
      CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).get(waitMillis, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      for (Conn c : conns) {
        Channel ch = c.channel;
        if (ch != null) {
          ch.close();
        }
      }
    }
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
