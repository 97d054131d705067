package io.whatssound.realtime.operator.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.whatssound.realtime.operator.Await;
import io.whatssound.realtime.operator.Fixtures;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.model.Conditions;
import io.whatssound.realtime.operator.model.Names;
import io.whatssound.realtime.operator.reconciler.RealtimeClusterReconciler;
import io.whatssound.realtime.operator.reconciler.Timing;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.postgres.EmbeddedDatabaseExtension;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A tenant's whole life with the operator holding exactly the chart's permissions, in both of the chart's modes
 * (cluster-wide; a Role per watched namespace): the database provisioned, every object created with owner references
 * (OwnerReferencesPermissionEnforcement is on), Events recorded, {@code kubectl scale} through the scale subresource
 * followed by the Deployment, and deletion: the pool first, then the finalizer drops slot, publications and role ({@code reclaimPolicy:
 * Delete}), then the real garbage collector removes every owned object. No request may be refused with 403.
 */
class OperatorWithChartRbacTest extends SharedControlPlane {
  static final Duration WAIT = Duration.ofSeconds(60);
  @RegisterExtension static final EmbeddedDatabaseExtension DB = new EmbeddedDatabaseExtension();

  static Timing timing() {
    return new Timing(Duration.ofSeconds(2), Duration.ofMillis(500), Duration.ofSeconds(2));
  }

  @Test
  void clusterWide() throws Exception {
    try (OperatorUnderTest op = new OperatorUnderTest(cp, "cw", "realtime-cw", List.of())) {
      op.start("cw-0", DatabaseConnector.jdbc(), timing());
      lifecycle(op, "tenant-cw", "cw_tenant");
    }
  }

  @Test
  void watchedNamespacesOnly() throws Exception {
    try (OperatorUnderTest op = new OperatorUnderTest(cp, "nsop", "realtime-nsop", List.of("tenant-ns", "tenant-ns2"))) {
      op.start("nsop-0", DatabaseConnector.jdbc(), timing());
      lifecycle(op, "tenant-ns", "ns_tenant");
    }
  }

  void lifecycle(OperatorUnderTest op, String ns, String database) throws Exception {
    if (admin.namespaces().withName(ns).get() == null) {
      cp.kubectl("create", "namespace", ns).orFail();
    }
    createDatabase(database);
    String name = "party";
    admin.resource(inNs(Fixtures.ownerSecret(name, EmbeddedDatabase.USER, EmbeddedDatabase.PASSWORD), ns)).create();
    admin.resource(inNs(Fixtures.jwtSecret(name), ns)).create();
    RealtimeCluster cluster = inNs(Fixtures.newCluster(name, database, DB.db().port()), ns);
    cluster.getSpec().setReclaimPolicy("Delete");
    admin.resource(cluster).create();
    SessionPool pool = inNs(Fixtures.newPool(name + "-main", name, 1), ns);
    admin.resource(pool).create();

    Await.until(WAIT, "DatabaseReady on " + ns + "/" + name + " (" + diagnostics(op, ns) + ")",
        () -> conditionTrue(ns, name, RealtimeClusterReconciler.DATABASE_READY));
    Await.until(WAIT, "the pool's Deployment", () -> admin.apps().deployments().inNamespace(ns).withName(pool
        .getMetadata().getName()).get());
    String uid = admin.resources(RealtimeCluster.class).inNamespace(ns).withName(name).get().getMetadata().getUid();
    List<HasMetadata> owned = Await.until(WAIT, "the cluster's Secrets, Services and pooler", () -> {
      List<HasMetadata> found = ownedBy(ns, uid);
      return found.stream().anyMatch(o -> o instanceof Deployment) && found.stream().anyMatch(o -> o instanceof Service)
          && found.stream().anyMatch(o -> o instanceof Secret)
          && found.stream().filter(o -> o instanceof NetworkPolicy).count() == 2
          ? found : null;
    });
    assertTrue(slotExists(database, "party_slot"), "the slot is provisioned");
    // the printer columns read the status the operator wrote (Ready through a JSONPath filter on conditions)
    Map<String, String> row = CrdsOnRealApiServerTest.table(
        cp.kubectl("get", "rtc", name, "-n", ns).orFail().out());
    assertTrue(List.of("True", "False").contains(row.get("READY")), row.toString());
    assertEquals("ws://" + name + "." + ns + ".svc:4000/realtime/v1/websocket", row.get("ENDPOINT"), row.toString());

    // kubectl scale goes through the scale subresource; the operator follows with the Deployment.
    cp.kubectl("scale", "spool/" + pool.getMetadata().getName(), "-n", ns, "--replicas=3").orFail();
    Await.until(WAIT, "the Deployment to follow kubectl scale", () -> admin.apps().deployments().inNamespace(ns)
        .withName(pool.getMetadata().getName()).get().getSpec().getReplicas() == 3);
    assertEquals(3, admin.resources(SessionPool.class).inNamespace(ns).withName(pool.getMetadata().getName()).get()
        .getSpec().getReplicas());

    // Autoscaling with the chart's RBAC: below its minimum, the operator scales the pool through the scale subresource
    // (no pods run here, so the connections are unknown and nothing else is decided).
    cp.kubectl("patch", "spool/" + pool.getMetadata().getName(), "-n", ns, "--type=merge", "-p",
        "{\"spec\":{\"autoscaling\":{\"minReplicas\":4,\"maxReplicas\":6,\"targetConnectionsPerPod\":100}}}")
        .orFail();
    Await.until(WAIT, "the autoscaler to raise the pool to its minimum", () -> admin.resources(SessionPool.class)
        .inNamespace(ns).withName(pool.getMetadata().getName()).get().getSpec().getReplicas() == 4);
    Await.until(WAIT, "a ScaledUp-or-BelowMinimum Event", () -> admin.v1().events().inNamespace(ns).list().getItems()
        .stream().anyMatch(e -> "BelowMinimum".equals(e.getReason()) && e.getMessage().startsWith("3 -> 4 replicas")));
    cp.kubectl("patch", "spool/" + pool.getMetadata().getName(), "-n", ns, "--type=json", "-p",
        "[{\"op\":\"remove\",\"path\":\"/spec/autoscaling\"}]").orFail();

    // A hand edit of an owned object is restored, with an Event on its owner; a label someone else adds stays.
    assertEquals(List.of(), admin.v1().events().inNamespace(ns).list().getItems().stream()
        .filter(e -> "Restored".equals(e.getReason())).map(e -> e.getMessage()).toList(),
        "nothing restored before anyone edits: server defaults and controllers' writes are not edits");
    String deployment = pool.getMetadata().getName();
    String image = admin.apps().deployments().inNamespace(ns).withName(deployment).get()
        .getSpec().getTemplate().getSpec().getContainers().get(0).getImage();
    cp.kubectl("patch", "deployment", deployment, "-n", ns, "--type=json", "-p",
        "[{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/image\",\"value\":\"edited:by-hand\"}]")
        .orFail();
    cp.kubectl("label", "service", name, "-n", ns, "team=listening").orFail();
    cp.kubectl("patch", "service", name, "-n", ns, "--type=json", "-p",
        "[{\"op\":\"replace\",\"path\":\"/spec/ports/0/port\",\"value\":4999}]").orFail();
    Await.until(WAIT, "the Deployment's image restored", () -> image.equals(admin.apps().deployments().inNamespace(ns)
        .withName(deployment).get().getSpec().getTemplate().getSpec().getContainers().get(0).getImage()));
    Await.until(WAIT, "the Service's port restored", () -> admin.services().inNamespace(ns).withName(name).get()
        .getSpec().getPorts().get(0).getPort() == 4000);
    assertEquals("listening", admin.services().inNamespace(ns).withName(name).get().getMetadata().getLabels()
        .get("team"), "a label the operator does not set is left alone");
    Await.until(WAIT, "Restored Events on the pool and the cluster", () -> admin.v1().events().inNamespace(ns).list()
        .getItems().stream().filter(e -> "Restored".equals(e.getReason())).map(e -> e.getInvolvedObject().getKind())
        .collect(Collectors.toSet()).containsAll(List.of("SessionPool", "RealtimeCluster")));

    // Deleting the cluster: its pool goes first (the garbage collector takes the pool's Deployment and budget), then
    // the finalizer cleans the database, then the garbage collector removes what the cluster owned.
    admin.resources(RealtimeCluster.class).inNamespace(ns).withName(name).delete();
    Await.until(WAIT, "the pool, its Deployment and budget to go", () -> admin.resources(SessionPool.class)
        .inNamespace(ns).withName(pool.getMetadata().getName()).get() == null
        && admin.apps().deployments().inNamespace(ns).withName(pool.getMetadata().getName()).get() == null
        && admin.policy().v1().podDisruptionBudget().inNamespace(ns).withName(pool.getMetadata().getName()).get() == null);
    Await.until(WAIT, "the cluster to go (finalizer done)",
        () -> admin.resources(RealtimeCluster.class).inNamespace(ns).withName(name).get() == null);
    assertTrue(!slotExists(database, "party_slot"), "reclaimPolicy Delete drops the slot");
    assertTrue(!roleExists(Names.runtimeRole(cluster)), "reclaimPolicy Delete drops the runtime role");
    assertTrue(admin.v1().events().inNamespace(ns).list().getItems().stream()
        .anyMatch(e -> "Deleted".equals(e.getReason()) && name.equals(e.getInvolvedObject().getName())),
        "an Event records the cleanup");
    Await.until(Duration.ofSeconds(90), "the garbage collector to remove " + names(owned),
        () -> ownedBy(ns, uid).isEmpty());
    assertEquals(List.of(), op.forbidden, "requests the chart's RBAC refused");
  }

  static <T extends HasMetadata> T inNs(T o, String ns) {
    o.getMetadata().setNamespace(ns);
    return o;
  }

  boolean conditionTrue(String ns, String name, String type) {
    RealtimeCluster c = admin.resources(RealtimeCluster.class).inNamespace(ns).withName(name).get();
    return c != null && c.getStatus() != null
        && Conditions.find(c.getStatus().getConditions(), type).map(x -> "True".equals(x.getStatus())).orElse(false);
  }

  List<HasMetadata> ownedBy(String ns, String uid) {
    List<HasMetadata> all = new ArrayList<>();
    all.addAll(admin.secrets().inNamespace(ns).list().getItems());
    all.addAll(admin.services().inNamespace(ns).list().getItems());
    all.addAll(admin.apps().deployments().inNamespace(ns).list().getItems());
    all.addAll(admin.policy().v1().podDisruptionBudget().inNamespace(ns).list().getItems());
    all.addAll(admin.network().v1().networkPolicies().inNamespace(ns).list().getItems());
    return all.stream().filter(o -> o.getMetadata().getOwnerReferences() != null
        && o.getMetadata().getOwnerReferences().stream().anyMatch(r -> uid.equals(r.getUid()))).toList();
  }

  static String names(List<HasMetadata> objects) {
    return objects.stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).collect(Collectors.joining(", "));
  }

  String diagnostics(OperatorUnderTest op, String ns) {
    RealtimeCluster c = admin.resources(RealtimeCluster.class).inNamespace(ns).withName("party").get();
    return "status " + (c == null ? "none" : c.getStatus()) + "; forbidden " + op.forbidden;
  }

  void createDatabase(String name) throws SQLException {
    try (Connection c = DB.db().connect(); Statement st = c.createStatement()) {
      st.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      st.execute("CREATE DATABASE " + name);
    }
  }

  boolean slotExists(String database, String slot) throws SQLException {
    return exists(database, "SELECT 1 FROM pg_replication_slots WHERE slot_name = '" + slot + "'");
  }

  boolean roleExists(String role) throws SQLException {
    return exists("postgres", "SELECT 1 FROM pg_roles WHERE rolname = '" + role + "'");
  }

  boolean exists(String database, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + DB.db().port() + "/" + database,
        EmbeddedDatabase.USER, EmbeddedDatabase.PASSWORD); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      return rs.next();
    }
  }
}
