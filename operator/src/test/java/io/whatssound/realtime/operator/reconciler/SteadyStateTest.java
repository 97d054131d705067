package io.whatssound.realtime.operator.reconciler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.whatssound.realtime.operator.Await;
import io.whatssound.realtime.operator.Fixtures;
import io.whatssound.realtime.operator.Operators;
import io.whatssound.realtime.operator.RuntimePods;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterStatus;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.metrics.ConnectionMeter;
import io.whatssound.realtime.operator.metrics.OperatorMetrics;
import io.whatssound.realtime.operator.model.Conditions;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.postgres.EmbeddedDatabaseExtension;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a quiet tenant costs the API server: nothing. Both reconcilers on the CRUD mock API server with a real
 * embedded PostgreSQL and a runtime pod answering {@code /metrics}; the mock server records every request.
 */
@EnableKubernetesMockClient(crud = true)
class SteadyStateTest {
  static final Duration WAIT = Duration.ofSeconds(30);
  static KubernetesMockServer server;
  static KubernetesClient client;
  @RegisterExtension static final EmbeddedDatabaseExtension DB = new EmbeddedDatabaseExtension();
  RuntimePods.MetricsServer runtime;
  OperatorMetrics metrics;
  Operator operator;

  @BeforeAll
  static void installCrds() throws Exception {
    Fixtures.installCrds(client);
  }

  @AfterEach
  void stop() {
    if (operator != null) {
      operator.stop();
    }
    if (runtime != null) {
      runtime.close();
    }
  }

  void startOperator(Duration slotPoll, Duration connectionPoll) throws Exception {
    runtime = RuntimePods.MetricsServer.start();
    metrics = new OperatorMetrics(new SimpleMeterRegistry());
    // A fixed clock: condition times and the next partition maintenance do not move while the test runs.
    operator = Operators.create(client, Clock.fixed(Instant.now(), ZoneOffset.UTC), DatabaseConnector.jdbc(),
        OperatorDefaults.standard(), new Timing(slotPoll, Duration.ofMillis(500), Duration.ofSeconds(2), connectionPoll),
        Set.of(), Optional.empty(), metrics, new ConnectionMeter(runtime.port(), Duration.ofSeconds(2), metrics));
    operator.start();
  }

  /** A tenant (cluster, pool, its database) with both Deployments ready; returns when the cluster is Ready. */
  void readyTenant(String name) throws Exception {
    try (Connection c = DB.db().connect(); Statement st = c.createStatement()) {
      st.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      st.execute("CREATE DATABASE " + name);
    }
    client.resource(Fixtures.ownerSecret(name, EmbeddedDatabase.USER, EmbeddedDatabase.PASSWORD)).create();
    client.resource(Fixtures.jwtSecret(name)).create();
    client.resource(Fixtures.newCluster(name, name, DB.db().port())).create();
    client.resource(Fixtures.newPool(name + "-main", name, 1)).create();
    Await.until(WAIT, "the pooler Deployment", () -> get(Deployment.class, name + "-pooler"));
    Await.until(WAIT, "the runtime Deployment", () -> get(Deployment.class, name + "-main"));
    markReady(name + "-pooler", 2);
    markReady(name + "-main", 1);
    Await.until(WAIT, "the cluster Ready", () -> condition(cluster(name), "Ready", "True"));
  }

  static <T extends HasMetadata> T get(Class<T> type, String name) {
    return client.resources(type).inNamespace(Fixtures.NS).withName(name).get();
  }

  static RealtimeCluster cluster(String name) {
    return get(RealtimeCluster.class, name);
  }

  static boolean condition(RealtimeCluster c, String type, String status) {
    return c != null && c.getStatus() != null && Conditions.find(c.getStatus().getConditions(), type)
        .map(x -> status.equals(x.getStatus())).orElse(false);
  }

  static void markReady(String deployment, int ready) {
    Deployment d = get(Deployment.class, deployment);
    d.setStatus(new DeploymentStatusBuilder().withReplicas(ready).withReadyReplicas(ready).withAvailableReplicas(ready)
        .build());
    client.resource(d).updateStatus();
  }

  static <T extends HasMetadata> void update(Class<T> type, String name, Consumer<T> change, boolean status) {
    for (int attempt = 0; ; attempt++) {
      T latest = get(type, name);
      change.accept(latest);
      try {
        if (status) {
          client.resource(latest).updateStatus();
        } else {
          client.resource(latest).update();
        }
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt >= 20) {
          throw e;
        }
      }
    }
  }

  /** Every request the mock server recorded since the last call. */
  static List<RecordedRequest> recorded() throws InterruptedException {
    List<RecordedRequest> out = new ArrayList<>();
    for (RecordedRequest r; (r = server.takeRequest(1, TimeUnit.MILLISECONDS)) != null; ) {
      out.add(r);
    }
    return out;
  }

  /** Informers list once and keep a watch open; neither is a reconcile's doing. */
  static boolean informer(RecordedRequest r) {
    return "GET".equals(r.getMethod()) && (r.getPath().contains("watch=true") || r.getPath().contains("resourceVersion="));
  }

  @Test
  void aReconcileWithNothingToChangeSendsNoRequest() throws Exception {
    startOperator(Duration.ofMillis(500), Duration.ofMillis(300));
    readyTenant("quiet");
    runtime.connections.set(4);
    Pod pod = RuntimePods.pod("quiet-main", "quiet", "1", "127.0.0.1", true);
    client.resource(pod).create();
    client.resource(get(Pod.class, "quiet-main-1")).updateStatus(); // keeps the status a CRUD create may drop
    Await.until(WAIT, "connections in the cluster's status",
        () -> Objects.equals(4, cluster("quiet").getStatus().getConnections()));
    Await.until(WAIT, "the pool Ready", () -> get(SessionPool.class, "quiet-main").getStatus().getConditions().stream()
        .anyMatch(c -> c.getType().equals("Ready") && c.isTrue()));

    recorded();
    long clusters = metrics.reconciles("realtimecluster");
    long pools = metrics.reconciles("sessionpool");
    long reads = metrics.connectionReads(true);
    // Both come back on their own (slot poll, connection poll): wait for three more reconciles of each.
    Await.until(WAIT, "three more reconciles of each", () -> metrics.reconciles("realtimecluster") >= clusters + 3
        && metrics.reconciles("sessionpool") >= pools + 3);
    List<String> made = recorded().stream().filter(r -> !informer(r)).map(RecordedRequest::getRequestLine).toList();
    assertEquals(List.of(), made, "reconciles with nothing to change read from caches and write nothing");
    assertTrue(metrics.connectionReads(true) >= reads + 2, "the pool read its pod meanwhile");
  }

  @Test
  void aClusterStatusChangeDoesNotReconcileItsPoolsButASpecChangeDoes() throws Exception {
    // No periodic pool reconcile here (connection poll of an hour, no pods): only events reconcile the pool.
    startOperator(Duration.ofSeconds(30), Duration.ofHours(1));
    readyTenant("lag");
    String pool = "lag-main";
    Await.until(WAIT, "the pool Ready", () -> get(SessionPool.class, pool).getStatus().getConditions().stream()
        .anyMatch(c -> c.getType().equals("Ready") && c.isTrue()));
    long reconciles = metrics.reconciles("sessionpool");
    long skipped = metrics.clusterChanges(false);
    long concerned = metrics.clusterChanges(true);

    // The slot's lag moves (as the cluster reconciler's slot polls write it): a status-only change.
    update(RealtimeCluster.class, "lag", c -> {
      RealtimeClusterStatus.Replication r = c.getStatus().getReplication();
      r.setLagBytes(r.getLagBytes() == null ? 123_456_789L : r.getLagBytes() + 123_456_789L);
    }, true);
    Await.until(WAIT, "the pools' informer to see the status change",
        () -> metrics.clusterChanges(false) + metrics.clusterChanges(true) > skipped + concerned);
    assertEquals(concerned, metrics.clusterChanges(true), "a status change does not concern the pools");
    assertEquals(reconciles, metrics.reconciles("sessionpool"), "no pool reconcile for a status change");

    // A spec change (here one the pools' configuration does not even depend on) reconciles them.
    update(RealtimeCluster.class, "lag", c -> c.getSpec().getCdc().setMaxLagBytes(2L << 30), false);
    Await.until(WAIT, "the spec change to reach the pools", () -> metrics.clusterChanges(true) == concerned + 1);
    Await.until(WAIT, "a pool reconcile", () -> metrics.reconciles("sessionpool") > reconciles);
    assertFalse(metrics.clusterChanges(true) > concerned + 1);
  }

  @Test
  void onlySpecChangesAndDeletionConcernPools() {
    RealtimeCluster a = Fixtures.newCluster("x", "x", 5432);
    a.getMetadata().setGeneration(3L);
    RealtimeCluster statusOnly = Fixtures.newCluster("x", "x", 5432);
    statusOnly.getMetadata().setGeneration(3L);
    statusOnly.setStatus(new RealtimeClusterStatus());
    statusOnly.getStatus().setConnections(1000);
    assertFalse(SessionPoolReconciler.clusterChangeConcernsPools(a, statusOnly));
    RealtimeCluster newSpec = Fixtures.newCluster("x", "x", 5432);
    newSpec.getMetadata().setGeneration(4L);
    assertTrue(SessionPoolReconciler.clusterChangeConcernsPools(a, newSpec));
    RealtimeCluster deleting = Fixtures.newCluster("x", "x", 5432);
    deleting.getMetadata().setGeneration(3L);
    deleting.getMetadata().setDeletionTimestamp("2026-03-10T12:00:00Z");
    assertTrue(SessionPoolReconciler.clusterChangeConcernsPools(a, deleting));
  }
}
