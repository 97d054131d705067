package io.whatssound.realtime.runtime.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.whatssound.realtime.postgres.DrainSummary;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer;
import io.whatssound.realtime.runtime.auth.DatabaseAuthorizer;
import io.whatssound.realtime.runtime.auth.JwksKeys;
import io.whatssound.realtime.runtime.auth.JwtVerifier;
import io.whatssound.realtime.runtime.cdc.PostgresChanges;
import io.whatssound.realtime.runtime.cdc.ReplicationStream;
import io.whatssound.realtime.runtime.channel.Broadcaster;
import io.whatssound.realtime.runtime.channel.Ids;
import io.whatssound.realtime.runtime.channel.TopicRegistry;
import io.whatssound.realtime.runtime.cluster.ClusterNode;
import io.whatssound.realtime.runtime.cluster.ClusterSettings;
import io.whatssound.realtime.runtime.config.RuntimeConfig;
import io.whatssound.realtime.runtime.db.RuntimeDatabase;
import io.whatssound.realtime.runtime.history.History;
import io.whatssound.realtime.runtime.history.MessageStore;
import io.whatssound.realtime.runtime.limits.TenantLimiter;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Binds the HTTP/WebSocket port, owns the event loops and runs the graceful shutdown. */
public final class RealtimeServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RealtimeServer.class);
  private static final AttributeKey<SocketSession> SESSION = AttributeKey.valueOf("realtime.session");

  private final RuntimeContext rt;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Class<? extends ServerChannel> channelType;
  private final ChannelGroup sockets = new DefaultChannelGroup("realtime-sockets", GlobalEventExecutor.INSTANCE);
  private final Optional<RuntimeDatabase> database;
  private final Optional<MessageStore> store;
  private final Optional<ReplicationStream> stream;
  private final Optional<ClusterNode> cluster;
  private final Optional<String> clusterKey;
  private boolean conformanceEcho;
  private volatile boolean accepting;
  /** Until the drain ends: REST messages are taken (relayed to the other pods and stored); after, refused with 503. */
  private volatile boolean publishing = true;
  private Channel serverChannel;
  private Channel metricsChannel;

  /** A single node (no cluster messaging). */
  public RealtimeServer(RuntimeConfig config, Clock clock) throws IOException {
    this(config, ClusterSettings.single("realtime"), clock);
  }

  /** A pod that joins its tenant's cluster when {@code clusterSettings} name peers or a DNS name. */
  public RealtimeServer(RuntimeConfig config, ClusterSettings clusterSettings, Clock clock) throws IOException {
    RuntimeMetrics metrics = new RuntimeMetrics();
    TenantLimiter limiter = new TenantLimiter(config.limits(), clock);
    metrics.connectionsGauge(limiter::connected);
    var jwks =
        config.jwks().map(v -> JwksKeys.from(v, Executors.newSingleThreadExecutor(daemon("jwks-refresh")), clock));
    if (config.jwtSecret().isEmpty() && jwks.isEmpty()) {
      throw new IllegalArgumentException("Set REALTIME_JWT_SECRET or REALTIME_JWT_JWKS so clients can authenticate");
    }
    JwtVerifier verifier = new JwtVerifier(config.jwtSecret(), jwks, clock);
    TopicRegistry topics = new TopicRegistry(metrics);
    this.database =
        config.database().enabled() ? Optional.of(RuntimeDatabase.start(config.database(), clock)) : Optional.empty();
    this.store = database.map(db -> new MessageStore(db.queries(), db.executor(), config.history().batchInterval(),
        metrics.registry()).start());
    if (database.isEmpty() && !config.history().topics().isEmpty()) {
      LOG.warn("History topics are set but there is no database: replays are served from this pod's memory only");
    }
    Broadcaster broadcaster = new Broadcaster(topics, limiter, metrics, new History(config.history(), clock, store));
    Optional<ClusterNode> node =
        clusterSettings.enabled()
            ? Optional.of(new ClusterNode(clusterSettings, topics, broadcaster, limiter, metrics, clock,
                PooledByteBufAllocator.DEFAULT))
            : Optional.empty();
    // the pod's messages reach the others through the cluster, and its connection limit counts theirs
    node.ifPresent(n -> {
      broadcaster.relayThrough(n);
      limiter.countElsewhere(n::remoteConnected);
    });
    this.cluster = node;
    this.clusterKey = clusterSettings.key();
    Optional<PostgresChanges> postgres =
        database.map(db -> new PostgresChanges(db, topics, broadcaster, PooledByteBufAllocator.DEFAULT));
    this.stream =
        database.map(
            db -> node.isPresent()
                ? new ReplicationStream(db.replicationUrl(), db.settings().contract(), db.settings().provision(),
                    node.get().cdc(postgres.orElseThrow()), node.get()::anotherPodHoldsSlot)
                : new ReplicationStream(db.replicationUrl(), db.settings().contract(), db.settings().provision(),
                    postgres.orElseThrow()));
    this.rt =
        new RuntimeContext(
            config, clock, verifier,
            database.<ChannelAuthorizer>map(db -> new DatabaseAuthorizer(db.queries(), db.executor()))
                .orElseGet(() -> ChannelAuthorizer.byRole(config.privateRoles())),
            topics, broadcaster, limiter, metrics, new Ids(), postgres);
    Transport transport = Transport.choose(config.transport());
    this.boss = new MultiThreadIoEventLoopGroup(1, transport.io());
    this.workers = new MultiThreadIoEventLoopGroup(0, transport.io());
    this.channelType = transport.serverChannel();
    LOG.info("Transport: {} (REALTIME_TRANSPORT={}; auto prefers {})", transport.name(), config.transport(),
        Transport.AUTO_ORDER);
  }

  private static ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  /**
   * Serves the root path as a WebSocket that sends each message back, through the same pipeline as a
   * client's socket, for RFC 6455 conformance suites (Autobahn|Testsuite). Only tests call this, before
   * {@link #start()}; no configuration turns it on.
   */
  public RealtimeServer withConformanceEcho() {
    conformanceEcho = true;
    return this;
  }

  /** Binds the port and starts accepting clients. */
  public RealtimeServer start() throws InterruptedException {
    RuntimeConfig c = rt.config();
    SocketUpgrade.SessionTracker tracker =
        (session, ch) -> {
          ch.attr(SESSION).set(session);
          sockets.add(ch);
        };
    Probes.Readiness readiness = new Probes.Readiness() {
      @Override
      public boolean acceptsSockets() {
        return accepting && cluster.map(ClusterNode::ready).orElse(true);
      }

      @Override
      public Optional<String> notReady() {
        if (!accepting) {
          return Optional.of("shutting down");
        }
        if (!cluster.map(ClusterNode::ready).orElse(true)) {
          return Optional.of("joining the cluster");
        }
        // until the database has answered this pod's credentials once: a rollout with a role or password the
        // database does not know stops at its first pod
        return database.flatMap(RuntimeDatabase::notReached).map(r -> "the database has not answered yet: " + r);
      }
    };
    Probes probes = new Probes(readiness, rt.metrics(), c.metricsPort().isEmpty());
    SocketUpgrade upgrade = new SocketUpgrade(rt, readiness, tracker, conformanceEcho);
    RestBroadcast rest = new RestBroadcast(rt, () -> publishing);
    ClockSync clockSync = new ClockSync(rt.clock());
    ServerBootstrap b =
        new ServerBootstrap()
            .group(boss, workers)
            .channel(channelType)
            .option(ChannelOption.SO_BACKLOG, 4096)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1 << 20, 4 << 20))
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast("http", new HttpServerCodec())
                        .addLast("http-aggregator", new HttpObjectAggregator(c.maxFrameBytes()))
                        .addLast("http-router", new HttpRouter(probes, upgrade, rest, clockSync, () -> !accepting));
                  }
                });
    serverChannel = b.bind(c.host(), c.port()).sync().channel();
    if (c.metricsPort().isPresent()) {
      Probes own = new Probes(readiness, rt.metrics(), true);
      metricsChannel = new ServerBootstrap()
          .group(boss, workers)
          .channel(channelType)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ch.pipeline()
                  .addLast("http", new HttpServerCodec())
                  .addLast("http-aggregator", new HttpObjectAggregator(64 * 1024));
              // rebalancing: only where the operator, which holds the tenant's cluster key, can ask
              clusterKey.ifPresent(k -> ch.pipeline().addLast("admin", new AdminEndpoint(k, RealtimeServer.this::shed)));
              ch.pipeline().addLast("probes", own.handler());
            }
          })
          .bind(c.host(), c.metricsPort().get()).sync().channel();
      LOG.info("Metrics and probes on {}:{} (not on the public port)", c.host(), metricsPort().orElseThrow());
    }
    if (cluster.isPresent()) {
      try {
        cluster.get().start();
      } catch (InterruptedException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException("Could not join the cluster (check REALTIME_CLUSTER_*): " + e.getMessage(), e);
      }
    }
    stream.ifPresent(ReplicationStream::start);
    accepting = true;
    LOG.info("Realtime runtime listening on {}:{}", c.host(), port());
    return this;
  }

  public int port() {
    return ((InetSocketAddress) serverChannel.localAddress()).getPort();
  }

  /** The port of {@code /metrics} when it has its own. */
  public Optional<Integer> metricsPort() {
    return Optional.ofNullable(metricsChannel).map(ch -> ((InetSocketAddress) ch.localAddress()).getPort());
  }

  public boolean accepting() {
    return accepting;
  }

  /** This pod's cluster membership; empty for a single node. */
  public Optional<ClusterNode> cluster() {
    return cluster;
  }

  RuntimeContext context() {
    return rt;
  }

  /**
   * Stops accepting, tells every client ({@code system} "Server requested disconnect") and closes its
   * socket so it reconnects elsewhere, waits at most {@code drain} for the sockets to close, then
   * stops the event loops. Returns what the drain did (whether sockets were left when its window ended).
   */
  public DrainSummary shutdown(Duration drain) {
    if (serverChannel == null) {
      return new DrainSummary(0, 0, drain.toMillis(), 0);
    }
    accepting = false;
    long started = System.nanoTime();
    LOG.info("Shutting down: closing {} client sockets (drain at most {} ms)", sockets.size(), drain.toMillis());
    serverChannel.close().syncUninterruptibly();
    // joins refused and presence gone at once; then the sockets go in paced batches (DrainPlan)
    List<Channel> open = new ArrayList<>(sockets);
    for (Channel ch : open) {
      SocketSession s = ch.attr(SESSION).get();
      if (s != null) {
        ch.eventLoop().execute(s::drainStarted);
      }
    }
    int batches = disconnectPaced(open, drain, DrainPlan.SPREAD);
    if (batches > 0) {
      LOG.info("Draining {} sockets in {} batches over {} ms", open.size(), batches,
          (batches - 1) * DrainPlan.INTERVAL.toMillis());
    }
    boolean drained = sockets.newCloseFuture().awaitUninterruptibly(drain.toMillis(), TimeUnit.MILLISECONDS);
    int forced = drained ? 0 : sockets.size();
    DrainSummary summary = new DrainSummary(open.size(), (System.nanoTime() - started) / 1_000_000, drain.toMillis(),
        forced);
    if (!drained) {
      LOG.warn("{} sockets still open after the drain time; closing them", forced);
      sockets.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
    }
    // from here nothing more reaches the other pods or the history store: refuse rather than accept and lose
    publishing = false;
    // each step runs even when an earlier one fails, so the event loops always stop and the process exits
    store.ifPresent(s -> step("storing the last history messages", s::close));
    stream.ifPresent(s -> step("stopping the replication stream", s::close));
    cluster.ifPresent(c -> step("leaving the cluster", c::close));
    database.ifPresent(d -> step("closing the database", d::close));
    if (metricsChannel != null) {
      metricsChannel.close().syncUninterruptibly();
      metricsChannel = null;
    }
    workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    serverChannel = null;
    LOG.info("Shutdown complete; {}", summary.line());
    return summary;
  }

  /** Tells {@code channels} to reconnect elsewhere, in paced batches over {@code spread} of {@code window}; returns the batches. */
  private int disconnectPaced(List<Channel> channels, Duration window, double spread) {
    List<List<Channel>> batches = DrainPlan.batches(channels, window, spread);
    for (int i = 0; i < batches.size(); i++) {
      List<Channel> batch = batches.get(i);
      boss.schedule(() -> batch.forEach(ch -> {
        SocketSession s = ch.attr(SESSION).get();
        if (s != null && ch.isActive()) {
          ch.eventLoop().execute(s::serverDisconnect);
        }
      }), i * DrainPlan.INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }
    return batches.size();
  }

  /**
   * Rebalancing: lets {@code count} of this pod's sockets go (any of them: clients differ in nothing the pod knows), paced over
   * the whole {@code window} (a drain keeps the end of its window free; shedding has no deadline), while the pod keeps
   * serving; returns how many.
   */
  int shed(int count, Duration window) {
    List<Channel> open = new ArrayList<>();
    for (Channel ch : sockets) {
      if (ch.isActive() && ch.attr(SESSION).get() != null) {
        open.add(ch);
      }
    }
    List<Channel> chosen = open.subList(0, Math.min(count, open.size()));
    disconnectPaced(List.copyOf(chosen), window, 1.0);
    return chosen.size();
  }

  private static void step(String what, Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      LOG.error("Shutdown: {} failed; continuing", what, e);
    }
  }

  @Override
  public void close() {
    shutdown(rt.config().shutdownDrain());
  }
}
