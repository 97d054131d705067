package io.whatssound.realtime.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReviewBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.metrics.ConnectionMeter;
import io.whatssound.realtime.operator.metrics.OperatorMetrics;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.operator.reconciler.RealtimeClusterReconciler;
import io.whatssound.realtime.operator.reconciler.Timing;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Two operators, assembled as {@code OperatorMain} does with a Lease, against one CRUD mock API server: only the
 * holder of the Lease reconciles; when it stops, the other takes the Lease once it expires and reconciles.
 * Lease timings are short here (a 2 s lease); production uses Kubernetes' usual 15 s.
 */
@EnableKubernetesMockClient(crud = true)
class LeaderElectionTest {
  static final String LEASE_NAMESPACE = "realtime-system";
  static final Duration LEASE = Duration.ofSeconds(2);
  static final Duration WAIT = Duration.ofSeconds(30);
  static KubernetesMockServer server;
  static KubernetesClient client;

  record Instance(String identity, OperatorMetrics metrics, Operator operator) {
    long reconciles() {
      return metrics.reconciles("realtimecluster") + metrics.reconciles("sessionpool");
    }
  }

  static Instance start(String identity) {
    OperatorMetrics metrics = new OperatorMetrics(new SimpleMeterRegistry());
    DatabaseConnector none = (db, user, password) -> {
      throw new SQLException("no database in this test", "08001");
    };
    Operator operator = Operators.create(client, Clock.systemUTC(), none, OperatorDefaults.standard(),
        new Timing(Duration.ofMinutes(5), Duration.ofMinutes(5), Duration.ofMinutes(5)), Set.of(),
        Optional.of(Operators.leaderElection(LEASE_NAMESPACE, identity, LEASE, Duration.ofMillis(1500),
            Duration.ofMillis(200), false)),
        metrics, ConnectionMeter.standard(metrics));
    operator.start();
    return new Instance(identity, metrics, operator);
  }

  static String holder() {
    Lease lease = client.leases().inNamespace(LEASE_NAMESPACE).withName(Operators.LEASE_NAME).get();
    return lease == null || lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
  }

  static void updateSpec(String name, Consumer<RealtimeCluster> change) {
    for (int attempt = 0; ; attempt++) {
      RealtimeCluster latest = client.resources(RealtimeCluster.class).inNamespace(Fixtures.NS).withName(name).get();
      change.accept(latest);
      try {
        client.resource(latest).update();
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt >= 20) {
          throw e;
        }
      }
    }
  }

  @Test
  void onlyTheLeaderReconcilesAndAnotherTakesOverWhenItStops() throws Exception {
    // JOSDK checks its Lease permissions with a SelfSubjectRulesReview, which the CRUD mock cannot answer.
    server.expect().post().withPath("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews")
        .andReturn(201, new SelfSubjectRulesReviewBuilder().withNewStatus().withIncomplete(false)
            .addNewResourceRule().withApiGroups("coordination.k8s.io").withResources("leases")
            .withVerbs("get", "create", "update").endResourceRule().endStatus().build())
        .always();
    Fixtures.installCrds(client);

    Instance a = start("operator-a");
    Instance b = null;
    try {
      Await.until(WAIT, "operator-a to hold the Lease", () -> "operator-a".equals(holder()));
      b = start("operator-b");
      Instance follower = b;

      client.resource(Fixtures.newCluster("led", "led", 5432)).create();
      client.resource(Fixtures.newPool("led-main", "led", 1)).create();
      Await.until(WAIT, "the leader to reconcile the cluster", () -> is("led", "SecretMissing"));
      long seenByLeader = a.reconciles();
      updateSpec("led", c -> c.getSpec().getLimits().setMaxEventsPerSecond(300));
      Await.until(WAIT, "the leader to reconcile the change", () -> a.reconciles() > seenByLeader);
      assertEquals(0, follower.reconciles(), "the follower keeps its caches but reconciles nothing");
      assertEquals("operator-a", holder());

      // The leader stops without giving the Lease back (as a killed pod would): the follower waits for it to expire.
      a.operator().stop();
      long leaderTotal = a.reconciles();
      Await.until(WAIT, "operator-b to take the Lease", () -> "operator-b".equals(holder()));
      Await.until(WAIT, "the new leader to reconcile what exists", () -> follower.reconciles() > 0);
      long seenByB = follower.reconciles();
      updateSpec("led", c -> c.getSpec().getLimits().setMaxEventsPerSecond(400));
      Await.until(WAIT, "the new leader to reconcile a change", () -> follower.reconciles() > seenByB);
      assertEquals(leaderTotal, a.reconciles(), "the stopped operator reconciles nothing more");
    } finally {
      a.operator().stop();
      if (b != null) {
        b.operator().stop();
      }
    }
  }

  static boolean is(String cluster, String reason) {
    RealtimeCluster c = client.resources(RealtimeCluster.class).inNamespace(Fixtures.NS).withName(cluster).get();
    return c != null && c.getStatus() != null && c.getStatus().getConditions().stream()
        .anyMatch(x -> x.getType().equals(RealtimeClusterReconciler.DATABASE_READY) && reason.equals(x.getReason()));
  }
}
