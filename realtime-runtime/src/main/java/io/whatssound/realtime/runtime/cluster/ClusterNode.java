package io.whatssound.realtime.runtime.cluster;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.cdc.PostgresChanges;
import io.whatssound.realtime.runtime.cdc.ReplicationStream;
import io.whatssound.realtime.runtime.channel.Broadcaster;
import io.whatssound.realtime.runtime.channel.ClusterRelay;
import io.whatssound.realtime.runtime.channel.TopicRegistry;
import io.whatssound.realtime.runtime.cluster.ClusterMessage.Broadcast;
import io.whatssound.realtime.runtime.cluster.ClusterMessage.Change;
import io.whatssound.realtime.runtime.cluster.ClusterMessage.Envelope;
import io.whatssound.realtime.runtime.cluster.ClusterMessage.Snapshot;
import io.whatssound.realtime.runtime.cluster.ClusterMessage.Status;
import io.whatssound.realtime.runtime.cluster.ClusterMessage.Track;
import io.whatssound.realtime.runtime.cluster.ClusterMessage.Untrack;
import io.whatssound.realtime.runtime.limits.TenantLimiter;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import io.whatssound.realtime.runtime.presence.PresenceState;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import io.whatssound.realtime.runtime.value.StoredRef;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.jgroups.Address;
import org.jgroups.BytesMessage;
import org.jgroups.JChannel;
import org.jgroups.MergeView;
import org.jgroups.Message;
import org.jgroups.Receiver;
import org.jgroups.View;
import org.jgroups.protocols.FD_ALL3;
import org.jgroups.protocols.FD_SOCK2;
import org.jgroups.protocols.FRAG4;
import org.jgroups.protocols.MERGE3;
import org.jgroups.protocols.MFC;
import org.jgroups.protocols.SYM_ENCRYPT;
import org.jgroups.protocols.TCP;
import org.jgroups.protocols.TCPPING;
import org.jgroups.protocols.UFC;
import org.jgroups.protocols.UNICAST3;
import org.jgroups.protocols.VERIFY_SUSPECT2;
import org.jgroups.protocols.dns.DNS_PING;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.NAKACK2;
import org.jgroups.protocols.pbcast.STABLE;
import org.jgroups.stack.Protocol;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This pod's membership of its tenant's cluster (JGroups over TCP). Relays local broadcasts, presence
 * changes and the slot's changes to the other pods, which deliver them to their own subscribers through
 * the same {@link TopicRegistry} path; removes the presences of pods that leave the view; shares the
 * connected-user count for the tenant-wide limit.
 *
 * <p>Messages from event loops are queued and sent by one thread (an event loop never blocks on flow
 * control), which keeps each pod's messages in order: JGroups delivers one sender's multicasts in the
 * order sent. Messages from the replication stream are sent on the stream's thread, so a transaction is
 * acknowledged only after its changes were handed to JGroups.
 */
public final class ClusterNode implements ClusterRelay, Receiver, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterNode.class);
  private static final int OUTBOUND_CAPACITY = 100_000;
  private static final Object SNAPSHOT = new Object();
  private static final Object STATUS = new Object();
  private static final Duration SYNC_GRACE = Duration.ofSeconds(5);

  private final ClusterSettings settings;
  private final TopicRegistry topics;
  private final TenantLimiter limiter;
  private final Broadcaster broadcaster;
  private final Clock clock;
  private final ByteBufAllocator alloc;
  private final PresenceReplica<Address> presence;
  private final BlockingQueue<Object> outbound = new ArrayBlockingQueue<>(OUTBOUND_CAPACITY);
  private final Map<Address, Integer> remoteUsers = new ConcurrentHashMap<>();
  private final Set<Address> slotHolders = ConcurrentHashMap.newKeySet();
  private final Set<Address> awaitingSnapshot = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService timer;
  private final Thread sender;
  private final AtomicLong members = new AtomicLong();
  private final Counter viewChanges;
  private final Counter bytesIn;
  private final Counter bytesOut;
  private final Counter dropped;
  private final Counter duplicates;
  private final Timer relayLag;
  private volatile JChannel channel;
  private volatile boolean running = true;
  private volatile long viewInstalledAt;
  /** When this pod's first view came: it serves once it has every member's presences, or this long after. */
  private volatile long joinedAt = -1;
  /** This pod had the presences of every member of its first view (later members never make it unready). */
  private volatile boolean synced;
  private volatile ClusterCdc cdc;
  private volatile PostgresChanges postgres;
  private volatile Set<Address> lastMembers = Set.of();
  private long lastLsn = -1;
  private long lastIndex = -1;

  public ClusterNode(
      ClusterSettings settings, TopicRegistry topics, Broadcaster broadcaster, TenantLimiter limiter,
      RuntimeMetrics metrics, Clock clock,
      ByteBufAllocator alloc) {
    this.settings = settings;
    this.topics = topics;
    this.limiter = limiter;
    this.broadcaster = broadcaster;
    this.clock = clock;
    this.alloc = alloc;
    this.presence = new PresenceReplica<>(topics, alloc);
    MeterRegistry r = metrics.registry();
    Gauge.builder("realtime_cluster_members", members, AtomicLong::get)
        .description("Pods in this pod's current cluster view").register(r);
    Gauge.builder("realtime_cluster_remote_presences", presence, PresenceReplica::remoteCount)
        .description("Presences owned by other pods").register(r);
    Gauge.builder("realtime_cluster_remote_connections", this, ClusterNode::remoteConnected)
        .description("Sockets on other pods, as last reported").register(r);
    Gauge.builder("realtime_cluster_slot_holder", this, n -> n.cdc != null && n.cdc.holding() ? 1 : 0)
        .description("1 while this pod streams the tenant's replication slot").register(r);
    viewChanges = Counter.builder("realtime_cluster_view_changes").description("Cluster views installed").register(r);
    bytesIn = Counter.builder("realtime_cluster_bytes_in").description("Bytes received from other pods").register(r);
    bytesOut = Counter.builder("realtime_cluster_bytes_out").description("Bytes sent to other pods").register(r);
    dropped = Counter.builder("realtime_cluster_dropped")
        .description("Messages not relayed: the outbound queue was full or the channel failed").register(r);
    duplicates = Counter.builder("realtime_cluster_cdc_duplicates")
        .description("Row changes seen again (a new slot holder resumed from the slot's confirmed position)")
        .register(r);
    relayLag = Timer.builder("realtime_cluster_relay_lag")
        .description("From a pod handing a message to the cluster to another pod receiving it (wall clocks)")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(10))
        .register(r);
    this.timer = Executors.newSingleThreadScheduledExecutor(daemon("cluster-timer"));
    this.sender = new Thread(this::sendLoop, "cluster-sender");
    this.sender.setDaemon(true);
  }

  private static ThreadFactory daemon(String name) {
    return task -> {
      Thread t = new Thread(task, name);
      t.setDaemon(true);
      return t;
    };
  }

  /** Wraps this pod's Postgres Changes so the slot's changes reach every pod. */
  public ReplicationStream.Sink cdc(PostgresChanges target) {
    this.postgres = target;
    ClusterCdc c = new ClusterCdc(target, this);
    this.cdc = c;
    return c;
  }

  // ---- lifecycle

  /** Joins the cluster (or forms it alone after the join timeout) and waits briefly for the others' presences. */
  public ClusterNode start() throws Exception {
    JChannel ch = new JChannel(stack());
    ch.setDiscardOwnMessages(true);
    ch.setReceiver(this);
    ch.name(settings.bind() + ":" + settings.port());
    channel = ch;
    ch.connect(settings.name());
    sender.start(); // after connect: what the first view queued (the snapshot) goes out now
    LOG.info("Joined cluster {} as {}: view {}", settings.name(), ch.getAddress(), ch.getView());
    long period = settings.statusInterval().toMillis();
    timer.scheduleAtFixedRate(() -> {
      enqueue(STATUS);
      requestMissingSnapshots();
    }, period, period, TimeUnit.MILLISECONDS);
    long deadline = System.nanoTime() + SYNC_GRACE.toNanos();
    while (!awaitingSnapshot.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    return this;
  }

  private List<Protocol> stack() throws IOException {
    InetAddress bind = InetAddress.getByName(settings.bind());
    List<Protocol> p = new ArrayList<>();
    TCP tcp = new TCP();
    tcp.setBindAddress(bind);
    tcp.setBindPort(settings.port());
    tcp.setPortRange(0);
    tcp.tcpNodelay(true); // without it Nagle adds ~10 ms per relayed message at a few thousand msgs/s
    p.add(tcp);
    if (settings.dns().isPresent()) {
      p.add(new DNS_PING().setDNSQuery(settings.dns().get()));
    } else {
      List<InetSocketAddress> hosts = new ArrayList<>();
      for (InetSocketAddress a : settings.peers()) {
        hosts.add(new InetSocketAddress(InetAddress.getByName(a.getHostString()), a.getPort()));
      }
      p.add(new TCPPING().setInitialHosts(hosts).setPortRange(0));
    }
    long merge = settings.mergeInterval().toMillis();
    p.add(new MERGE3().setMinInterval(Math.max(100, merge / 4)).setMaxInterval(merge));
    p.add(new FD_SOCK2().setBindAddress(bind));
    long fd = settings.failureDetection().toMillis();
    p.add(new FD_ALL3().setTimeout(fd).setInterval(Math.max(100, fd / 6)));
    p.add(new VERIFY_SUSPECT2().setTimeout(settings.verifyTimeout().toMillis()));
    if (settings.key().isPresent()) {
      // below NAKACK2, so retransmissions are encrypted too; a member with another key cannot read this one's join
      // or view messages, so it stays out of the cluster
      p.add(new SYM_ENCRYPT().setSecretKey(clusterKey(settings.key().get())));
    }
    p.add(new NAKACK2().setXmitInterval(500));
    p.add(new UNICAST3());
    p.add(new STABLE().setDesiredAverageGossip(20_000).setMaxBytes(4_000_000));
    p.add(new GMS().setJoinTimeout(2000).printLocalAddress(false));
    p.add(new UFC());
    p.add(new MFC());
    p.add(new FRAG4().setFragSize(60_000));
    return p;
  }

  /** The AES-256 key of a tenant's cluster key: its SHA-256. */
  static SecretKey clusterKey(String key) {
    try {
      return new SecretKeySpec(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)), "AES");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Whether this pod is in a view and has the presences of the members it joined (or waited long enough). Only its
   * own join counts: a pod that serves keeps serving while another joins (a scale-up must not make every existing
   * pod refuse sockets and fail its readiness until the newcomer's presences arrive), or while a split heals.
   */
  public boolean ready() {
    JChannel ch = channel;
    long joined = joinedAt;
    return running && ch != null && ch.isConnected() && joined >= 0
        && (synced || awaitingSnapshot.isEmpty() || clock.millis() - joined > SYNC_GRACE.toMillis());
  }

  private void noteSynced() {
    if (joinedAt >= 0 && awaitingSnapshot.isEmpty()) {
      synced = true;
    }
  }

  /** The JGroups channel, for operations and fault-injection tests. */
  public JChannel channel() {
    return channel;
  }

  public int memberCount() {
    return (int) members.get();
  }

  /** Leaves the view (others drop this pod's presences at once) and stops the threads. */
  @Override
  public void close() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
    while (!outbound.isEmpty() && System.nanoTime() < deadline) {
      LockSupport.parkNanos(5_000_000);
    }
    running = false;
    timer.shutdownNow();
    sender.interrupt();
    JChannel ch = channel;
    if (ch != null) {
      ch.close();
    }
  }

  // ---- outbound

  @Override
  public void broadcast(TopicKey key, UserBroadcast broadcast, StoredRef stored) {
    enqueue(ClusterMessage.encode(new Broadcast(key, broadcast, stored), clock.millis()));
  }

  @Override
  public void storedBroadcast(TopicKey key, UserBroadcast broadcast, StoredRef stored) {
    sendNow(ClusterMessage.encode(new Broadcast(key, broadcast, stored), clock.millis()));
  }

  @Override
  public void presence(TopicKey key, String owner, PresenceState.Diff diff) {
    enqueue(ClusterMessage.encode(presence.local(key, owner, diff), clock.millis()));
  }

  @Override
  public void change(ChangeRecord change) {
    ClusterCdc c = cdc;
    long[] pos = c == null ? new long[] {0, 0} : c.nextPosition();
    countIfRepeated(pos[0], pos[1]);
    sendNow(ClusterMessage.encode(new Change(pos[0], (int) pos[1], change), clock.millis()));
  }

  @Override
  public void seed(TopicKey key, PresenceState state) {
    presence.seed(key, state);
  }

  void slotStatusChanged() {
    enqueue(STATUS);
  }

  /** Whether another pod reports holding the slot (its Status messages; a pod that leaves the view no longer does). */
  public boolean anotherPodHoldsSlot() {
    return !slotHolders.isEmpty();
  }

  /** Sockets on the other pods, as they last reported them. */
  public int remoteConnected() {
    int n = 0;
    for (int v : remoteUsers.values()) {
      n += v;
    }
    return n;
  }

  /** A snapshot sent before this pod was in the sender's view is lost: ask again (unicast) until it arrives. */
  private void requestMissingSnapshots() {
    JChannel ch = channel;
    if (ch == null || !ch.isConnected() || clock.millis() - viewInstalledAt < 200) {
      return;
    }
    byte[] ask = ClusterMessage.encode(new ClusterMessage.SnapshotRequest(), clock.millis());
    for (Address a : awaitingSnapshot) {
      try {
        ch.send(new BytesMessage(a, ask));
      } catch (Exception e) {
        LOG.debug("Could not ask {} for its presences: {}", a, e.toString());
      }
    }
  }

  private void enqueue(Object item) {
    if (!outbound.offer(item)) {
      dropped.increment();
    }
  }

  private void sendLoop() {
    while (running) {
      Object item;
      try {
        item = outbound.take();
      } catch (InterruptedException e) {
        return;
      }
      if (item == SNAPSHOT) {
        sendNow(ClusterMessage.encode(presence.snapshot(), clock.millis()));
      } else if (item == STATUS) {
        ClusterCdc c = cdc;
        sendNow(ClusterMessage.encode(new Status(limiter.connected(), c != null && c.holding()), clock.millis()));
      } else {
        sendNow((byte[]) item);
      }
    }
  }

  private void sendNow(byte[] bytes) {
    JChannel ch = channel;
    if (ch == null || !ch.isConnected()) {
      dropped.increment();
      return;
    }
    try {
      ch.send(new BytesMessage(null, bytes));
      bytesOut.increment(bytes.length);
    } catch (Exception e) {
      dropped.increment();
      if (running) {
        LOG.warn("Could not relay a message to the cluster: {}", e.toString());
      }
    }
  }

  /** Changes arrive in commit order; one at or before the last seen (LSN, position) is a repeat. */
  private synchronized boolean countIfRepeated(long lsn, long index) {
    if (lsn < lastLsn || (lsn == lastLsn && index <= lastIndex)) {
      duplicates.increment();
      return true;
    }
    lastLsn = lsn;
    lastIndex = index;
    return false;
  }

  // ---- inbound

  @Override
  public void receive(Message msg) {
    Address from = msg.getSrc();
    bytesIn.increment(msg.getLength());
    Envelope e;
    try {
      e = ClusterMessage.decode(msg.getArray(), msg.getOffset(), msg.getLength());
    } catch (IOException | RuntimeException ex) {
      LOG.warn("Ignored an undecodable cluster message from {}: {}", from, ex.toString());
      return;
    }
    relayLag.record(Math.max(0, clock.millis() - e.sentAtMillis()), TimeUnit.MILLISECONDS);
    ClusterMessage m = e.message();
    if (m instanceof Broadcast b) {
      deliver(b);
    } else if (m instanceof Track t) {
      presence.track(from, t);
    } else if (m instanceof Untrack u) {
      presence.untrack(from, u);
    } else if (m instanceof Snapshot s) {
      presence.snapshot(from, s);
      awaitingSnapshot.remove(from);
      noteSynced();
    } else if (m instanceof Change c) {
      countIfRepeated(c.lsn(), c.index());
      PostgresChanges pg = postgres;
      if (pg != null) {
        routeRelayed(pg, c.change());
      }
    } else if (m instanceof ClusterMessage.SnapshotRequest) {
      enqueue(SNAPSHOT);
    } else if (m instanceof Status s) {
      if (lastMembers.contains(from)) {
        remoteUsers.put(from, s.users());
        if (s.holdsSlot()) {
          slotHolders.add(from);
        } else {
          slotHolders.remove(from);
        }
        updateLive();
      }
    }
  }

  /**
   * Routes another pod's change to local bindings. When a check it needs fails (e.g. row security while the
   * database is unreachable) the change cannot be read again from the slot here, so this retries, holding
   * back the holder's later messages (JGroups delivers one sender's messages in order); after about a
   * minute it gives up on that change and counts it as dropped.
   */
  private void routeRelayed(PostgresChanges pg, ChangeRecord change) {
    long backoff = 100;
    for (int attempt = 1; ; attempt++) {
      try {
        pg.routeRelayed(change);
        return;
      } catch (RuntimeException e) {
        if (!running || attempt >= 12) {
          dropped.increment();
          LOG.error("Dropped a relayed change of {}.{} after {} attempts: {}", change.schema(), change.table(),
              attempt, e.toString());
          return;
        }
        LOG.warn("Routing a relayed change failed ({}); retrying in {} ms", e.toString(), backoff);
        try {
          Thread.sleep(backoff);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  /** Another pod's broadcast: encoded once here for each serializer, then the local fan-out. */
  private void deliver(Broadcast b) {
    TopicKey key = b.key();
    String topic = key.topic();
    broadcaster.fromOtherPod(key, b.broadcast(), b.stored(), alloc);
  }

  @Override
  public void viewAccepted(View view) {
    Set<Address> now = new HashSet<>(view.getMembers());
    Address self = channel == null ? null : channel.getAddress();
    if (view instanceof MergeView || lastMembers.isEmpty()) {
      // joining or healing a split: messages of the time apart did not reach this pod's memory of history
      broadcaster.history().gap();
    }
    Set<Address> fresh = new HashSet<>(now);
    if (!(view instanceof MergeView)) {
      fresh.removeAll(lastMembers);
    }
    fresh.remove(self);
    lastMembers = Set.copyOf(now);
    members.set(now.size());
    viewChanges.increment();
    viewInstalledAt = clock.millis();
    if (joinedAt < 0) {
      joinedAt = viewInstalledAt;
    }
    presence.members(now);
    remoteUsers.keySet().retainAll(now);
    slotHolders.retainAll(now);
    awaitingSnapshot.retainAll(now);
    awaitingSnapshot.addAll(fresh);
    noteSynced();
    updateLive();
    if (!fresh.isEmpty()) {
      enqueue(SNAPSHOT);
      enqueue(STATUS);
    }
    LOG.info("Cluster view {} ({} members{})", view.getViewId(), now.size(),
        view instanceof MergeView ? ", after a merge" : "");
  }

  private void updateLive() {
    ClusterCdc c = cdc;
    if (c != null) {
      c.update(!slotHolders.isEmpty());
    }
  }
}
