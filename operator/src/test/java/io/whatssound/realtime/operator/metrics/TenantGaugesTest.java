package io.whatssound.realtime.operator.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.whatssound.realtime.operator.Fixtures;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterStatus;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.api.SessionPoolStatus;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The operator's per-tenant gauges: what each shows of a status, and that they go with their object. */
class TenantGaugesTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final OperatorMetrics metrics = new OperatorMetrics(registry);

  private double value(String name) {
    Gauge g = registry.find(name).tag("cluster", "party").gauge();
    return g == null ? Double.NaN : g.value();
  }

  @Test
  void aClustersStatusBecomesItsGaugesAndTheyGoWithIt() {
    RealtimeCluster c = Fixtures.cluster("party", "db", 5432, "app");
    RealtimeClusterStatus s = new RealtimeClusterStatus();
    RealtimeClusterStatus.Replication r = new RealtimeClusterStatus.Replication();
    r.setRetainedBytes(4096L);
    r.setActive(false);
    r.setWalStatus("unreserved");
    s.setReplication(r);
    RealtimeClusterStatus.PartitionsStatus p = new RealtimeClusterStatus.PartitionsStatus();
    p.setNewest("2026-12-07");
    s.setPartitions(p);
    s.setConnections(150);
    metrics.cluster(c, s, Instant.parse("2026-12-04T12:00:00Z"));
    assertEquals(4096, value(OperatorMetrics.SLOT_RETAINED));
    assertEquals(0, value(OperatorMetrics.SLOT_ACTIVE));
    assertEquals(2, value(OperatorMetrics.SLOT_WAL_STATUS), "unreserved");
    assertEquals(3, value(OperatorMetrics.PARTITIONS_AHEAD));
    assertEquals(150, value(OperatorMetrics.CLUSTER_CONNECTIONS));
    assertEquals(200, value(OperatorMetrics.CLUSTER_MAX_USERS), "Supabase's default when the spec sets none");
    assertEquals(1L << 30, value(OperatorMetrics.SLOT_LAG_LIMIT));

    r.setActive(true);
    metrics.cluster(c, s, Instant.parse("2026-12-05T12:00:00Z"));
    assertEquals(1, value(OperatorMetrics.SLOT_ACTIVE), "one series, updated");
    assertEquals(2, value(OperatorMetrics.PARTITIONS_AHEAD));
    assertEquals(1, registry.find(OperatorMetrics.SLOT_ACTIVE).gauges().size());

    metrics.forget("cluster", c.getMetadata().getNamespace(), "party");
    assertNull(registry.find(OperatorMetrics.SLOT_ACTIVE).gauge(), "a deleted tenant leaves no series behind");
  }

  @Test
  void aPoolThatIsGoneLosesItsGaugesOnItsClustersNextReconcile() {
    SessionPool a = Fixtures.pool("party-a", "party", 3);
    SessionPool b = Fixtures.pool("party-b", "party", 2);
    SessionPoolStatus s = new SessionPoolStatus();
    s.setConnections(40);
    s.setReadyReplicas(3);
    metrics.pool(a, s);
    metrics.pool(b, s);
    assertEquals(2, registry.find(OperatorMetrics.POOL_CONNECTIONS).gauges().size());
    metrics.retainPools(a.getMetadata().getNamespace(), "party", Set.of("party-a"));
    assertEquals(1, registry.find(OperatorMetrics.POOL_CONNECTIONS).gauges().size());
    assertTrue(registry.find(OperatorMetrics.POOL_DESIRED).tag("pool", "party-a").gauge().value() == 3);
  }
}
