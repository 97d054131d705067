package io.whatssound.realtime.operator.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.whatssound.realtime.operator.Await;
import io.whatssound.realtime.operator.Fixtures;
import io.whatssound.realtime.operator.Operators;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.model.Conditions;
import io.whatssound.realtime.operator.reconciler.RealtimeClusterReconciler;
import io.whatssound.realtime.operator.reconciler.Timing;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Leader election on a real Lease and recovery from an API server restart, with the chart's RBAC. Two operators: only
 * the holder reconciles; when it stops without giving the Lease back, the other takes it once it expires. One
 * operator on the production Lease timings (15 s, renewed within 10 s) keeps leading through a restart of the API
 * server: its informers reconnect and it reconciles what changed, without a restart of its own.
 */
class LeaderElectionOnRealApiTest extends SharedControlPlane {
  static final Duration WAIT = Duration.ofSeconds(60);
  static final DatabaseConnector NO_DATABASE = (db, user, password, ca) -> {
    throw new SQLException("no database in this test", "08001");
  };

  static Timing timing() {
    return new Timing(Duration.ofMinutes(5), Duration.ofMinutes(5), Duration.ofMinutes(5));
  }

  @Test
  void onlyTheLeaderReconcilesAndAnotherTakesOverWhenItStops() {
    String ns = "tenant-led";
    try (OperatorUnderTest a = new OperatorUnderTest(cp, "led", "realtime-led", List.of());
        OperatorUnderTest b = new OperatorUnderTest(cp, "led", "realtime-led", List.of())) {
      a.start("operator-a", NO_DATABASE, timing());
      Await.until(WAIT, "operator-a to hold the Lease", () -> "operator-a".equals(OperatorUnderTest.holder(admin, a.namespace)));
      b.start("operator-b", NO_DATABASE, timing());

      createTenant(ns, "led");
      Await.until(WAIT, "the leader to reconcile the cluster", () -> reason(ns, "led", "SecretMissing"));
      long seenByLeader = a.reconciles();
      updateSpec(ns, "led", c -> c.getSpec().getLimits().setMaxEventsPerSecond(300));
      Await.until(WAIT, "the leader to reconcile the change", () -> a.reconciles() > seenByLeader);
      assertEquals(0, b.reconciles(), "the follower keeps its caches but reconciles nothing");
      assertEquals("operator-a", OperatorUnderTest.holder(admin, a.namespace));

      a.stop();
      long leaderTotal = a.reconciles();
      Await.until(WAIT, "operator-b to take the Lease", () -> "operator-b".equals(OperatorUnderTest.holder(admin, b.namespace)));
      Await.until(WAIT, "the new leader to reconcile what exists", () -> b.reconciles() > 0);
      long seenByB = b.reconciles();
      updateSpec(ns, "led", c -> c.getSpec().getLimits().setMaxEventsPerSecond(400));
      Await.until(WAIT, "the new leader to reconcile a change", () -> b.reconciles() > seenByB);
      assertEquals(leaderTotal, a.reconciles(), "the stopped operator reconciles nothing more");
      assertEquals(List.of(), a.forbidden, "requests the chart's RBAC refused");
      assertEquals(List.of(), b.forbidden, "requests the chart's RBAC refused");
    }
  }

  @Test
  void theOperatorRecoversFromAnApiServerRestartWithoutARestartOfItsOwn() {
    String ns = "tenant-restart";
    try (OperatorUnderTest op = new OperatorUnderTest(cp, "rs", "realtime-rs", List.of())) {
      op.start(NO_DATABASE, timing(), Operators.leaderElection(op.namespace, "rs-0",
          Duration.ofSeconds(15), Duration.ofSeconds(10), Duration.ofSeconds(2), false));
      createTenant(ns, "rs");
      Await.until(WAIT, "the first reconcile", () -> reason(ns, "rs", "SecretMissing"));

      cp.restartApiServer();

      // What changes after the restart reaches the same operator through its re-established watches.
      admin.resource(inNs(Fixtures.ownerSecret("rs", "owner", "secret"), ns)).create();
      admin.resource(inNs(Fixtures.jwtSecret("rs"), ns)).create();
      updateSpec(ns, "rs", c -> c.getSpec().getLimits().setMaxEventsPerSecond(500));
      long generation = admin.resources(RealtimeCluster.class).inNamespace(ns).withName("rs").get().getMetadata()
          .getGeneration();
      Await.until(WAIT, "the operator to reconcile the Secrets and the spec change made after the restart", () ->
          observed(ns, "rs", generation) && reason(ns, "rs", "Unreachable"));
      assertEquals("rs-0", OperatorUnderTest.holder(admin, op.namespace), "it kept the Lease through the restart");

      // For a moment after it starts, the API server answers 403 while its RBAC caches fill; after that, none.
      op.forbidden.clear();
      updateSpec(ns, "rs", c -> c.getSpec().getLimits().setMaxEventsPerSecond(600));
      long next = admin.resources(RealtimeCluster.class).inNamespace(ns).withName("rs").get().getMetadata().getGeneration();
      Await.until(WAIT, "one more change reconciled", () -> observed(ns, "rs", next));
      assertEquals(List.of(), op.forbidden, "requests the chart's RBAC refused");
    }
  }

  static boolean observed(String ns, String name, long generation) {
    RealtimeCluster c = admin.resources(RealtimeCluster.class).inNamespace(ns).withName(name).get();
    return c.getStatus() != null && Long.valueOf(generation).equals(c.getStatus().getObservedGeneration());
  }

  static void createTenant(String ns, String name) {
    if (admin.namespaces().withName(ns).get() == null) {
      cp.kubectl("create", "namespace", ns).orFail();
    }
    admin.resource(inNs(Fixtures.newCluster(name, name, 5432), ns)).create();
    admin.resource(inNs(Fixtures.newPool(name + "-main", name, 1), ns)).create();
  }

  static <T extends HasMetadata> T inNs(T o, String ns) {
    o.getMetadata().setNamespace(ns);
    return o;
  }

  static boolean reason(String ns, String name, String reason) {
    RealtimeCluster c = admin.resources(RealtimeCluster.class).inNamespace(ns).withName(name).get();
    return c != null && c.getStatus() != null && Conditions.find(c.getStatus().getConditions(),
        RealtimeClusterReconciler.DATABASE_READY).map(x -> reason.equals(x.getReason())).orElse(false);
  }

  /**
   * A spec change as a JSON merge patch of the spec alone, as {@code kubectl patch --type=merge} sends it: no
   * resourceVersion, so a status or finalizer the operator writes meanwhile cannot make it conflict (409).
   */
  static void updateSpec(String ns, String name, Consumer<RealtimeCluster> change) {
    var resource = admin.resources(RealtimeCluster.class).inNamespace(ns).withName(name);
    RealtimeCluster c = resource.get();
    change.accept(c);
    resource.patch(PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(Map.of("spec", c.getSpec())));
  }

}
