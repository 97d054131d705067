package io.whatssound.realtime.operator.metrics;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import io.javaoperatorsdk.operator.api.reconciler.Constants;
import io.javaoperatorsdk.operator.api.reconciler.RetryInfo;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.search.Search;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterStatus;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.api.SessionPoolStatus;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The operator's own meters (on {@code /metrics} next to the JVM's): reconciles and failures per controller (JOSDK
 * reports them through {@link Metrics}), RealtimeCluster changes that did or did not concern its pools, and the
 * connection counts read from runtime pods.
 */
public final class OperatorMetrics implements Metrics {
  public static final String RECONCILES = "realtime_operator_reconciles";
  public static final String RECONCILE_FAILURES = "realtime_operator_reconcile_failures";
  public static final String CLUSTER_CHANGES = "realtime_operator_cluster_changes";
  public static final String CONNECTION_READS = "realtime_operator_connection_reads";

  /** Per-tenant gauges (namespace and cluster or pool as tags): their current values, by name and tags. */
  public static final String SLOT_RETAINED = "realtime_operator_slot_retained_bytes";
  public static final String SLOT_LAG_LIMIT = "realtime_operator_slot_lag_limit_bytes";
  public static final String SLOT_ACTIVE = "realtime_operator_slot_active";
  public static final String SLOT_WAL_STATUS = "realtime_operator_slot_wal_status";
  public static final String PARTITIONS_AHEAD = "realtime_operator_partitions_ahead_days";
  public static final String CLUSTER_CONNECTIONS = "realtime_operator_cluster_connections";
  public static final String CLUSTER_MAX_USERS = "realtime_operator_cluster_max_users";
  public static final String POOL_CONNECTIONS = "realtime_operator_pool_connections";
  public static final String POOL_DESIRED = "realtime_operator_pool_desired_replicas";
  public static final String POOL_READY = "realtime_operator_pool_ready_replicas";
  public static final String POOL_MAX_PER_POD = "realtime_operator_pool_max_connections_per_pod";
  public static final String POOL_DRAINS = "realtime_operator_pool_drains";
  static final List<String> DRAIN_OUTCOMES = List.of("ok", "overran", "killed");
  /** wal_status as a number, worst highest: reserved 0, extended 1, unreserved 2, lost 3. */
  static final List<String> WAL_STATUSES = List.of("reserved", "extended", "unreserved", "lost");

  private final MeterRegistry registry;
  private final Map<String, Holder> gauges = new ConcurrentHashMap<>();
  private final Map<String, List<Meter.Id>> byObject = new ConcurrentHashMap<>();
  private final Map<String, String> poolClusters = new ConcurrentHashMap<>();

  /** A gauge's current value. */
  private static final class Holder {
    volatile double value = Double.NaN;
  }

  public OperatorMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public MeterRegistry registry() {
    return registry;
  }

  @Override
  public void reconcileCustomResource(HasMetadata resource, RetryInfo retryInfo, Map<String, Object> metadata) {
    counter(RECONCILES, "Reconciles started (and clean-ups), per controller", "controller", controller(metadata))
        .increment();
  }

  @Override
  public void failedReconciliation(HasMetadata resource, Exception exception, Map<String, Object> metadata) {
    counter(RECONCILE_FAILURES, "Reconciles that threw (retried with backoff), per controller", "controller",
        controller(metadata)).increment();
  }

  /** A RealtimeCluster changed; {@code concernsPools}: whether its SessionPools are reconciled for it. */
  public void clusterChange(boolean concernsPools) {
    counter(CLUSTER_CHANGES, "RealtimeCluster updates seen by the SessionPool controller, by whether pools reconcile",
        "pools", concernsPools ? "reconciled" : "skipped").increment();
  }

  /** One runtime pod's connection count was read ({@code ok}) or could not be (timeout, refused, no gauge). */
  public void connectionRead(boolean ok) {
    counter(CONNECTION_READS, "Reads of runtime pods' connection gauge, by result", "result", ok ? "ok" : "failed")
        .increment();
  }

  /**
   * A RealtimeCluster's gauges from its status: WAL the slot retains (from {@code restart_lsn}) and the limit it is
   * held to, whether the slot is streamed, its wal_status, how many days of partitions are made ahead, and its sockets
   * against its user limit.
   */
  public void cluster(RealtimeCluster c, RealtimeClusterStatus s, Instant now) {
    String ns = c.getMetadata().getNamespace();
    String name = c.getMetadata().getName();
    Tags tags = Tags.of("namespace", ns, "cluster", name);
    String key = "cluster/" + ns + "/" + name;
    RealtimeClusterStatus.Replication r = s == null ? null : s.getReplication();
    set(key, SLOT_RETAINED, "WAL the server keeps for the tenant's slot (bytes since its restart_lsn)", tags,
        r == null || r.getRetainedBytes() == null ? Double.NaN : r.getRetainedBytes());
    set(key, SLOT_LAG_LIMIT, "The slot lag above which ReplicationReady turns False (spec.cdc.maxLagBytes)", tags,
        c.getSpec().getCdc() == null ? 1L << 30 : c.getSpec().getCdc().getMaxLagBytes());
    set(key, SLOT_ACTIVE, "1 when a runtime pod streams the tenant's slot", tags,
        r == null || r.getActive() == null ? Double.NaN : r.getActive() ? 1 : 0);
    set(key, SLOT_WAL_STATUS, "The slot's wal_status: 0 reserved, 1 extended, 2 unreserved, 3 lost", tags,
        r == null || r.getWalStatus() == null ? Double.NaN : WAL_STATUSES.indexOf(r.getWalStatus()));
    double ahead = Double.NaN;
    if (s != null && s.getPartitions() != null && s.getPartitions().getNewest() != null) {
      ahead = ChronoUnit.DAYS.between(LocalDate.ofInstant(now, ZoneOffset.UTC),
          LocalDate.parse(s.getPartitions().getNewest()));
    }
    set(key, PARTITIONS_AHEAD, "Days of realtime.messages partitions made ahead of today (UTC)", tags, ahead);
    set(key, CLUSTER_CONNECTIONS, "Sockets open on all the tenant's pools", tags,
        s == null || s.getConnections() == null ? Double.NaN : s.getConnections());
    Integer max = c.getSpec().getLimits() == null ? null : c.getSpec().getLimits().getMaxConcurrentUsers();
    set(key, CLUSTER_MAX_USERS, "The tenant's concurrent-user limit (spec.limits.maxConcurrentUsers)", tags,
        max == null ? 200 : max);
  }

  /** A SessionPool's gauges: its sockets, the replicas it is set to and those ready. */
  public void pool(SessionPool p, SessionPoolStatus s) {
    String ns = p.getMetadata().getNamespace();
    String name = p.getMetadata().getName();
    poolClusters.put(ns + "/" + name, p.getSpec().getClusterRef().getName());
    Tags tags = Tags.of("namespace", ns, "pool", name, "cluster", p.getSpec().getClusterRef().getName());
    String key = "pool/" + ns + "/" + name;
    set(key, POOL_CONNECTIONS, "Sockets open on the pool's ready pods", tags,
        s == null || s.getConnections() == null ? Double.NaN : s.getConnections());
    set(key, POOL_DESIRED, "The pool's replicas (spec.replicas, the autoscaler's when it is on)", tags,
        p.getSpec().getReplicas());
    set(key, POOL_READY, "The pool's ready pods", tags,
        s == null || s.getReadyReplicas() == null ? Double.NaN : s.getReadyReplicas());
    Integer perPod = p.getSpec().getMaxConnectionsPerPod();
    set(key, POOL_MAX_PER_POD, "The sockets one pod of the pool accepts (spec.maxConnectionsPerPod; none: the tenant's "
        + "user limit applies)", tags, perPod == null ? Double.NaN : perPod);
    // every outcome from 0, so that the first drain of each shows as an increase
    DRAIN_OUTCOMES.forEach(outcome -> drains(ns, name, outcome));
  }

  /**
   * A runtime pod of a pool went away: how its drain ended ({@code ok}; {@code overran}: sockets were left when the
   * window ended; {@code killed}: the kubelet stopped it at the end of its grace period).
   */
  public void drain(String namespace, String pool, String outcome) {
    drainCounter(namespace, pool, outcome).increment();
  }

  public long drains(String namespace, String pool, String outcome) {
    return (long) drainCounter(namespace, pool, outcome).count();
  }

  private Counter drainCounter(String namespace, String pool, String outcome) {
    Counter c = Counter.builder(POOL_DRAINS).description("Runtime pods that went away, by how their drain ended")
        .tags("namespace", namespace, "pool", pool, "outcome", outcome).register(registry);
    List<Meter.Id> ids = byObject.computeIfAbsent("pool/" + namespace + "/" + pool, o -> new CopyOnWriteArrayList<>());
    if (!ids.contains(c.getId())) {
      ids.add(c.getId());
    }
    return c;
  }

  /** The pools of a cluster that still exist: the gauges of any other pool of that cluster go. */
  public void retainPools(String namespace, String cluster, Set<String> pools) {
    for (var e : Map.copyOf(poolClusters).entrySet()) {
      String[] nsName = e.getKey().split("/", 2);
      if (nsName[0].equals(namespace) && e.getValue().equals(cluster) && !pools.contains(nsName[1])) {
        poolClusters.remove(e.getKey());
        forget("pool", namespace, nsName[1]);
      }
    }
  }

  /** The object is gone: its gauges too. */
  public void forget(String kind, String namespace, String name) {
    List<Meter.Id> ids = byObject.remove(kind + "/" + namespace + "/" + name);
    if (ids != null) {
      ids.forEach(id -> {
        registry.remove(id);
        gauges.remove(id.toString());
      });
    }
  }

  private void set(String object, String name, String description, Tags tags, double value) {
    Meter.Id id = new Meter.Id(name, tags, null, description, Meter.Type.GAUGE);
    Holder h = gauges.computeIfAbsent(id.toString(), k -> {
      Holder fresh = new Holder();
      Gauge.builder(name, fresh, x -> x.value).description(description).tags(tags).register(registry);
      byObject.computeIfAbsent(object, o -> new CopyOnWriteArrayList<>()).add(id);
      return fresh;
    });
    h.value = value;
  }

  /** Reconciles started so far by a controller ({@code realtimecluster}, {@code sessionpool}). */
  public long reconciles(String controller) {
    return count(RECONCILES, "controller", controller);
  }

  public long clusterChanges(boolean concernsPools) {
    return count(CLUSTER_CHANGES, "pools", concernsPools ? "reconciled" : "skipped");
  }

  public long connectionReads(boolean ok) {
    return count(CONNECTION_READS, "result", ok ? "ok" : "failed");
  }

  private long count(String name, String tag, String value) {
    Counter c = Search.in(registry).name(name).tag(tag, value).counter();
    return c == null ? 0 : (long) c.count();
  }

  private Counter counter(String name, String description, String tag, String value) {
    return Counter.builder(name).description(description).tag(tag, value).register(registry);
  }

  private static String controller(Map<String, Object> metadata) {
    Object name = metadata == null ? null : metadata.get(Constants.CONTROLLER_NAME);
    return name == null ? "unknown" : name.toString();
  }
}
