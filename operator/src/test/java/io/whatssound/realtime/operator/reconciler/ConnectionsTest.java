package io.whatssound.realtime.operator.reconciler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.whatssound.realtime.operator.Await;
import io.whatssound.realtime.operator.Fixtures;
import io.whatssound.realtime.operator.Operators;
import io.whatssound.realtime.operator.RuntimePods;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.metrics.ConnectionMeter;
import io.whatssound.realtime.operator.metrics.OperatorMetrics;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * status.connections on the mock API server: runtime pods whose IP is 127.0.0.1 and a tiny HTTP server there that
 * answers {@code /metrics} as the runtime does (the operator reads it on that server's port). No database: the
 * cluster waits for its Secrets and still sums its pools.
 */
@EnableKubernetesMockClient(crud = true)
class ConnectionsTest {
  static final Duration WAIT = Duration.ofSeconds(30);
  static final Duration POLL = Duration.ofMillis(300);
  static KubernetesClient client;
  RuntimePods.MetricsServer runtime;
  OperatorMetrics metrics;
  Operator operator;

  @BeforeEach
  void start() throws Exception {
    Fixtures.installCrds(client);
    runtime = RuntimePods.MetricsServer.start();
    metrics = new OperatorMetrics(new SimpleMeterRegistry());
    DatabaseConnector none = (db, user, password, ca) -> {
      throw new SQLException("no database in this test", "08001");
    };
    operator = Operators.create(client, Clock.fixed(Instant.parse("2026-03-10T12:00:00Z"), ZoneOffset.UTC), none,
        OperatorDefaults.standard(), new Timing(Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(30), POLL),
        Set.of(), Optional.empty(), metrics, new ConnectionMeter(runtime.port(), Duration.ofSeconds(2), metrics));
    operator.start();
  }

  @AfterEach
  void stop() {
    operator.stop();
    runtime.close();
  }

  static void createPod(String pool, String name, String ip, boolean ready) {
    Pod pod = RuntimePods.pod(pool, "live", name, ip, ready);
    Pod created = client.resource(pod).create();
    created.setStatus(pod.getStatus());
    client.resource(created).updateStatus();
  }

  static SessionPool pool(String name) {
    return client.resources(SessionPool.class).inNamespace(Fixtures.NS).withName(name).get();
  }

  static RealtimeCluster cluster() {
    return client.resources(RealtimeCluster.class).inNamespace(Fixtures.NS).withName("live").get();
  }

  double gauge(String name, String tag, String value) {
    var g = metrics.registry().find(name).tag(tag, value).gauge();
    return g == null ? Double.NaN : g.value();
  }

  static Integer connections(SessionPool p) {
    return p == null || p.getStatus() == null ? null : p.getStatus().getConnections();
  }

  static Integer connections(RealtimeCluster c) {
    return c == null || c.getStatus() == null ? null : c.getStatus().getConnections();
  }

  @Test
  void poolsSumTheirReadyPodsAndTheClusterSumsItsPoolsWritingOnlyChanges() {
    runtime.connections.set(7);
    client.resource(Fixtures.newCluster("live", "live", 5432)).create();
    client.resource(Fixtures.newPool("live-a", "live", 3)).create();
    client.resource(Fixtures.newPool("live-b", "live", 2)).create();
    createPod("live-a", "1", "127.0.0.1", true);
    createPod("live-a", "2", "127.0.0.1", true);
    createPod("live-a", "3", "127.0.0.1", false); // not ready: not read
    createPod("live-b", "1", "127.0.0.1", true);
    createPod("live-b", "2", "127.0.0.3", true); // nothing listens there: counted as a failed read, left out

    Await.until(WAIT, "pool a: 2 ready pods x 7", () -> Objects.equals(14, connections(pool("live-a"))));
    Await.until(WAIT, "pool b: 1 answering pod x 7", () -> Objects.equals(7, connections(pool("live-b"))));
    Await.until(WAIT, "the cluster: the sum of its pools", () -> Objects.equals(21, connections(cluster())));
    assertTrue(metrics.connectionReads(false) >= 1, "the unreachable pod is counted");
    Await.until(WAIT, "the per-tenant gauges", () -> gauge(OperatorMetrics.POOL_CONNECTIONS, "pool", "live-a") == 14
        && gauge(OperatorMetrics.CLUSTER_CONNECTIONS, "cluster", "live") == 21);
    assertEquals(3, gauge(OperatorMetrics.POOL_DESIRED, "pool", "live-a"));

    // Nothing changed: pools keep reading (every POLL) but write nothing.
    String poolVersion = pool("live-a").getMetadata().getResourceVersion();
    String clusterVersion = cluster().getMetadata().getResourceVersion();
    long reads = metrics.connectionReads(true);
    Await.until(WAIT, "three more reads of every pool", () -> metrics.connectionReads(true) >= reads + 9);
    assertEquals(poolVersion, pool("live-a").getMetadata().getResourceVersion(), "no status write without a change");
    assertEquals(clusterVersion, cluster().getMetadata().getResourceVersion(), "no status write without a change");

    // The pods' count moves: the next poll writes it, and the cluster follows.
    runtime.connections.set(10);
    Await.until(WAIT, "pool a: 2 x 10", () -> Objects.equals(20, connections(pool("live-a"))));
    Await.until(WAIT, "the cluster: 20 + 10", () -> Objects.equals(30, connections(cluster())));

    // A pod that stops being ready leaves the count without waiting for anything else.
    Pod a2 = client.pods().inNamespace(Fixtures.NS).withName("live-a-2").get();
    a2.getStatus().getConditions().get(0).setStatus("False");
    client.resource(a2).updateStatus();
    Await.until(WAIT, "pool a: 1 x 10", () -> Objects.equals(10, connections(pool("live-a"))));
    Await.until(WAIT, "the cluster: 10 + 10", () -> Objects.equals(20, connections(cluster())));
  }
}
