package io.whatssound.realtime.operator.reconciler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.whatssound.realtime.operator.Await;
import io.whatssound.realtime.operator.Fixtures;
import io.whatssound.realtime.operator.Operators;
import io.whatssound.realtime.operator.RuntimePods;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.api.SessionPoolSpec;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.metrics.ConnectionMeter;
import io.whatssound.realtime.operator.metrics.OperatorMetrics;
import io.whatssound.realtime.operator.model.Names;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import java.net.InetAddress;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * SessionPool autoscaling on the mock API server: runtime pods at 127.0.0.1 whose {@code /metrics} a tiny server
 * answers; the operator scales the pool through its scale subresource, records Events, and marks the emptiest pods
 * to go first.
 */
@EnableKubernetesMockClient(crud = true)
class AutoscalingTest {
  static final Duration WAIT = Duration.ofSeconds(30);
  static final Duration POLL = Duration.ofMillis(300);
  static KubernetesClient client;
  RuntimePods.MetricsServer runtime;
  Operator operator;

  @BeforeEach
  void start() throws Exception {
    Fixtures.installCrds(client);
    runtime = RuntimePods.MetricsServer.start();
    OperatorMetrics metrics = new OperatorMetrics(new SimpleMeterRegistry());
    DatabaseConnector none = (db, user, password, ca) -> {
      throw new SQLException("no database in this test", "08001");
    };
    operator = Operators.create(client, Clock.systemUTC(), none, OperatorDefaults.standard(),
        new Timing(Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(30), POLL), Set.of(),
        Optional.empty(), metrics, new ConnectionMeter(runtime.port(), Duration.ofSeconds(2), metrics));
    operator.start();
  }

  @AfterEach
  void stop() {
    operator.stop();
    runtime.close();
  }

  static SessionPool pool() {
    return client.resources(SessionPool.class).inNamespace(Fixtures.NS).withName("auto").get();
  }

  static void pods(int n) {
    for (int i = 1; i <= n; i++) {
      Pod pod = RuntimePods.pod("auto", "live", String.valueOf(i), "127.0.0.1", true);
      if (client.resource(pod).get() == null) {
        Pod created = client.resource(pod).create();
        created.setStatus(pod.getStatus());
        client.resource(created).updateStatus();
      }
    }
  }

  /** What the Deployment controller would report: every pod of the pool ready. */
  static void deploymentReady(int replicas) {
    deploymentReady("auto", replicas);
  }

  static void deploymentReady(String pool, int replicas) {
    Deployment d = Await.until(WAIT, "the runtime Deployment",
        () -> client.apps().deployments().inNamespace(Fixtures.NS).withName(pool).get());
    d.setStatus(new DeploymentStatus());
    d.getStatus().setReplicas(replicas);
    d.getStatus().setReadyReplicas(replicas);
    client.resource(d).updateStatus();
  }

  @Test
  void aPoolFollowsItsConnectionsUpAndDownThroughTheScaleSubresource() {
    client.resource(Fixtures.newCluster("live", "live", 5432)).create();
    // the cluster's configuration, as its reconciler writes it once the database is provisioned
    client.resource(new SecretBuilder().withNewMetadata().withName(Names.runtimeConfigSecret("live"))
        .withNamespace(Fixtures.NS).withLabels(Names.clusterLabels("live", "runtime")).endMetadata()
        .withStringData(Map.of("REALTIME_PORT", "4000")).build()).create();
    SessionPool p = Fixtures.newPool("auto", "live", 2);
    SessionPoolSpec.Autoscaling a = new SessionPoolSpec.Autoscaling();
    a.setMinReplicas(1);
    a.setMaxReplicas(6);
    a.setTargetConnectionsPerPod(10);
    a.setScaleUpStabilizationSeconds(0);
    a.setScaleDownStabilizationSeconds(0);
    a.setMaxStep(4);
    p.getSpec().setAutoscaling(a);
    runtime.connections.set(7);
    client.resource(p).create();
    pods(2);
    deploymentReady(2);
    Await.until(WAIT, "steady at 2 x 7 connections", () -> pool().getStatus() != null
        && pool().getStatus().getAutoscaling() != null && "Steady".equals(pool().getStatus().getAutoscaling().getReason()));
    assertEquals(2, pool().getSpec().getReplicas());

    runtime.connections.set(25); // 50 on two pods: 5 wanted
    Await.until(WAIT, "scaled up to 5", () -> pool().getSpec().getReplicas() == 5);
    // one Event per pool and reason, whose message the next decision of that reason replaces (and the two pods'
    // counts are read one after the other, so the way to 5 may take two decisions): the latest decision is there
    Await.until(WAIT, "the decision as an Event", () -> client.v1().events().inNamespace(Fixtures.NS).list().getItems()
        .stream().anyMatch(e -> "ScaledUp".equals(e.getReason())
            && e.getMessage().matches("(?s)\\d+ -> \\d+ replicas: \\d+ connections, 10 per pod.*")));
    Await.until(WAIT, "the Deployment follows", () -> Integer.valueOf(5).equals(
        client.apps().deployments().inNamespace(Fixtures.NS).withName("auto").get().getSpec().getReplicas()));

    runtime.connections.set(10); // the load spread over the new pods: 5 x 10, steady
    pods(5);
    deploymentReady(5);
    Await.until(WAIT, "steady at 5 x 10", () -> "Steady".equals(pool().getStatus().getAutoscaling().getReason())
        && Integer.valueOf(50).equals(pool().getStatus().getConnections()));
    runtime.connections.set(1); // 5 in all: 1 wanted, 5 - 4
    Await.until(WAIT, "scaled down to 1", () -> pool().getSpec().getReplicas() == 1);
    Pod first = client.pods().inNamespace(Fixtures.NS).withName("auto-1").get();
    assertEquals("1", first.getMetadata().getAnnotations().get(SessionPoolReconciler.DELETION_COST),
        "each pod's connections are its deletion cost");
    // the poll that sees the drop may read some pods before it and some after (5 to 50 in all), so the way down
    // may take two steps; the Event holds the last one
    Await.until(WAIT, "the scale-down as an Event", () -> client.v1().events().inNamespace(Fixtures.NS).list()
        .getItems().stream().anyMatch(e -> "ScaledDown".equals(e.getReason())
            && e.getMessage().matches("[2-5] -> 1 replicas: \\d+ connections, 10 per pod")));
  }

  @Test
  void aFullPodIsAskedToShedOnceAPollAtMostHoweverOftenThePoolReconciles() throws Exception {
    // this test's own operator: a poll long enough that every reconcile below falls within one
    operator.stop();
    OperatorMetrics metrics = new OperatorMetrics(new SimpleMeterRegistry());
    DatabaseConnector none = (db, user, password, ca) -> {
      throw new SQLException("no database in this test", "08001");
    };
    operator = Operators.create(client, Clock.systemUTC(), none, OperatorDefaults.standard(),
        new Timing(Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofMinutes(10)),
        Set.of(), Optional.empty(), metrics, new ConnectionMeter(runtime.port(), Duration.ofSeconds(2), metrics));
    operator.start();
    // a second pod on 127.0.0.2, same metrics port: 1500 sockets on the first, 100 on the second
    try (RuntimePods.MetricsServer second = RuntimePods.MetricsServer.start(InetAddress.getByName("127.0.0.2"),
        runtime.port())) {
      runtime.connections.set(1500);
      second.connections.set(100);
      client.resource(Fixtures.newCluster("lb", "lb", 5432)).create();
      client.resource(new SecretBuilder().withNewMetadata().withName(Names.runtimeConfigSecret("lb"))
          .withNamespace(Fixtures.NS).withLabels(Names.clusterLabels("lb", "runtime")).endMetadata()
          .withStringData(Map.of("REALTIME_PORT", "4000", "REALTIME_CLUSTER_KEY", RuntimePods.MetricsServer.KEY))
          .build()).create();
      SessionPool p = Fixtures.newPool("lb", "lb", 2);
      SessionPoolSpec.Autoscaling a = new SessionPoolSpec.Autoscaling();
      a.setMinReplicas(2);
      a.setMaxReplicas(2);
      a.setTargetConnectionsPerPod(1000);
      a.setMaxReconnectsPerSecond(1);
      p.getSpec().setAutoscaling(a);
      client.resource(p).create();
      for (String[] pod : new String[][] {{"1", "127.0.0.1"}, {"2", "127.0.0.2"}}) {
        Pod desired = RuntimePods.pod("lb", "lb", pod[0], pod[1], true);
        Pod created = client.resource(desired).create();
        created.setStatus(desired.getStatus());
        client.resource(created).updateStatus();
      }
      deploymentReady("lb", 2);
      Await.until(WAIT, "the full pod asked to shed", () -> !runtime.sheds.isEmpty());
      // spec changes reconcile the pool again and again, each with the same imbalance; each one awaited, since
      // changes that come while a reconcile runs are folded into one
      for (int i = 2; i <= 4; i++) {
        SessionPool patched = client.resources(SessionPool.class).inNamespace(Fixtures.NS).withName("lb").patch(
            PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"autoscaling\":{\"maxReconnectsPerSecond\":" + i + "}}}");
        long generation = patched.getMetadata().getGeneration();
        Await.until(WAIT, "generation " + generation + " reconciled", () -> {
          SessionPool now = client.resources(SessionPool.class).inNamespace(Fixtures.NS).withName("lb").get();
          return now.getStatus() != null && Long.valueOf(generation).equals(now.getStatus().getObservedGeneration());
        });
      }
      assertEquals(1, runtime.sheds.size(), "one request per poll: " + runtime.sheds);
      assertEquals(List.of(), second.sheds, "the emptier pod is not asked");
      assertTrue(runtime.sheds.get(0).startsWith("count=600&"), "1 a second over the 10 minute poll: "
          + runtime.sheds);
    } finally {
      // the mock API server outlives this test: leave nothing for the next one's operator to reconcile
      client.resources(SessionPool.class).inNamespace(Fixtures.NS).withName("lb").delete();
      client.pods().inNamespace(Fixtures.NS).withLabel(Names.POOL_LABEL, "lb").delete();
    }
  }
}
