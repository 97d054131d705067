package io.whatssound.realtime.operator.reconciler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.Operator;
import io.whatssound.realtime.operator.Await;
import io.whatssound.realtime.operator.Fixtures;
import io.whatssound.realtime.operator.Operators;
import io.whatssound.realtime.operator.api.Condition;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterSpec;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.model.Conditions;
import io.whatssound.realtime.operator.model.Names;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.operator.model.RuntimeConfigModel;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.postgres.EmbeddedDatabaseExtension;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Both reconcilers on Fabric8's mock API server (CRUD mode) with a real embedded PostgreSQL. */
@EnableKubernetesMockClient(crud = true)
class OperatorReconcileTest {
  static final Duration WAIT = Duration.ofSeconds(30);
  static KubernetesClient client;
  @RegisterExtension static final EmbeddedDatabaseExtension DB = new EmbeddedDatabaseExtension();
  Operator operator;


  @BeforeEach
  void startOperator() throws Exception {
    Fixtures.installCrds(client);
    operator = Operators.create(client, Clock.systemUTC(), DatabaseConnector.jdbc(), OperatorDefaults.standard(),
        new Timing(Duration.ofSeconds(2), Duration.ofMillis(500), Duration.ofSeconds(2)), Set.of(), Optional.empty());
    operator.start();
  }

  @AfterEach
  void stopOperator() {
    operator.stop();
  }

  static String createDatabase(String name) throws SQLException {
    try (Connection c = DB.db().connect(); Statement st = c.createStatement()) {
      st.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      st.execute("CREATE DATABASE " + name);
    }
    return name;
  }

  static Connection connect(String database) throws SQLException {
    return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + DB.db().port() + "/" + database,
        EmbeddedDatabase.USER, EmbeddedDatabase.PASSWORD);
  }

  static long count(String database, String sql) throws SQLException {
    try (Connection c = connect(database); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  static RealtimeCluster newCluster(String name, String database, int port) {
    return Fixtures.newCluster(name, database, port);
  }

  static SessionPool newPool(String name, String cluster, int replicas) {
    return Fixtures.newPool(name, cluster, replicas);
  }

  static void createSecrets(String cluster) {
    client.resource(Fixtures.ownerSecret(cluster, EmbeddedDatabase.USER, EmbeddedDatabase.PASSWORD)).create();
    client.resource(Fixtures.jwtSecret(cluster)).create();
  }

  static RealtimeCluster cluster(String name) {
    return client.resources(RealtimeCluster.class).inNamespace(Fixtures.NS).withName(name).get();
  }

  static SessionPool pool(String name) {
    return client.resources(SessionPool.class).inNamespace(Fixtures.NS).withName(name).get();
  }

  static Optional<Condition> condition(RealtimeCluster c, String type) {
    return c == null || c.getStatus() == null ? Optional.empty() : Conditions.find(c.getStatus().getConditions(), type);
  }

  static boolean is(RealtimeCluster c, String type, String status, String reason) {
    return condition(c, type).map(x -> x.getStatus().equals(status) && (reason == null || reason.equals(x.getReason())))
        .orElse(false);
  }

  static boolean poolIs(SessionPool p, String type, String status, String reason) {
    return p != null && p.getStatus() != null && Conditions.find(p.getStatus().getConditions(), type)
        .map(x -> x.getStatus().equals(status) && (reason == null || reason.equals(x.getReason()))).orElse(false);
  }

  static <T extends HasMetadata> T get(Class<T> type, String name) {
    return client.resources(type).inNamespace(Fixtures.NS).withName(name).get();
  }

  static void markReady(String deployment, int ready) {
    Deployment d = get(Deployment.class, deployment);
    d.setStatus(new DeploymentStatusBuilder().withReplicas(ready).withReadyReplicas(ready).withAvailableReplicas(ready)
        .withObservedGeneration(d.getMetadata().getGeneration()).build());
    client.resource(d).updateStatus();
  }

  @Test
  void aClusterAndAPoolBecomeReadyWithEveryObjectAndDatabaseObject() throws Exception {
    String dbName = createDatabase("tenant_ready");
    createSecrets("ready");
    client.resource(newCluster("ready", dbName, DB.db().port())).create();
    client.resource(newPool("ready-main", "ready", 2)).create();

    Await.until(WAIT, "DatabaseReady", () -> is(cluster("ready"), "DatabaseReady", "True", null));
    Await.until(WAIT, "the runtime Deployment", () -> get(Deployment.class, "ready-main"));
    for (var kind : List.of(Service.class)) {
      assertNotNull(get(kind, "ready"), "client Service");
      assertNotNull(get(kind, "ready-discovery"), "discovery Service");
      assertNotNull(get(kind, "ready-pooler"), "pooler Service");
    }
    assertNotNull(get(Deployment.class, "ready-pooler"));
    assertNotNull(get(Secret.class, "ready-pooler-config"));
    assertNotNull(get(PodDisruptionBudget.class, "ready-main"));
    assertNotNull(get(NetworkPolicy.class, "ready-runtime"));
    assertNotNull(get(NetworkPolicy.class, "ready-pooler"));
    assertEquals(1, get(PodDisruptionBudget.class, "ready-pooler").getSpec().getMaxUnavailable().getIntVal(),
        "one PgBouncer pod evicted at a time");
    Secret config = get(Secret.class, "ready-runtime-config");
    Map<String, String> env = RuntimeConfigModel.decode(config);
    assertEquals(Fixtures.JWT, env.get("REALTIME_JWT_SECRET"));
    assertEquals("ready_slot", env.get("REALTIME_SLOT"));
    Map<String, String> creds = RuntimeConfigModel.decode(get(Secret.class, "ready-runtime-credentials"));
    String role = cluster("ready").getStatus().getRuntimeRole();
    assertTrue(role.matches("realtime_party_ready_[0-9a-f]{8}"), role);
    assertEquals(role, creds.get("username"));
    assertTrue(creds.get("cluster-key").length() >= 32, "a generated cluster key");
    assertEquals(creds.get("cluster-key"), env.get("REALTIME_CLUSTER_KEY"), "the pods get the tenant's cluster key");
    assertTrue(creds.get("pooler-ca.crt").startsWith("-----BEGIN CERTIFICATE-----"), "the pooler's CA, made once");
    // this test's database takes no TLS (sslMode disable), so neither does the pooler (ModelTest covers the other case)
    assertFalse(env.containsKey("REALTIME_DB_POOL_CA"));
    assertTrue(env.get("REALTIME_DB_POOL_URL").endsWith("sslmode=disable"), env.get("REALTIME_DB_POOL_URL"));
    assertEquals(get(Secret.class, "ready-runtime-config").getMetadata().getOwnerReferences().get(0).getUid(),
        cluster("ready").getMetadata().getUid(), "owned objects are garbage-collected with the cluster");

    assertEquals(1, count(dbName, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'ready_slot'"));
    assertEquals(1, count(dbName, "SELECT count(*) FROM pg_publication WHERE pubname = 'ready_pub'"));
    assertEquals(1, count(dbName, "SELECT count(*) FROM pg_roles WHERE rolname = '" + role + "' AND rolreplication"));
    assertEquals(1, count(dbName, "SELECT count(*) FROM pg_roles WHERE rolname = '" + role + "_pgb'"));
    assertTrue(count(dbName, "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
        + "WHERE p.relname = 'messages'") >= 5, "partitions from yesterday to premake days ahead");
    // the generated password logs the runtime role in
    try (Connection rc = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + DB.db().port() + "/" + dbName,
        role, creds.get("password"))) {
      assertTrue(rc.isValid(2));
    }

    assertFalse(is(cluster("ready"), "Ready", "True", null), "the pooler is not ready yet");
    assertTrue(poolIs(pool("ready-main"), "Ready", "False", "PodsNotReady"));
    markReady("ready-pooler", 2);
    markReady("ready-main", 2);
    RealtimeCluster ready = Await.until(WAIT, "cluster Ready", () -> {
      RealtimeCluster c = cluster("ready");
      return is(c, "Ready", "True", null) ? c : null;
    });
    assertEquals("ws://ready.party.svc:4000/realtime/v1/websocket", ready.getStatus().getEndpoints().getWebsocket());
    assertEquals("ready_slot", ready.getStatus().getReplication().getSlot());
    assertTrue(ready.getStatus().getPartitions().getCount() >= 5);
    SessionPool p = Await.until(WAIT, "pool Ready", () -> poolIs(pool("ready-main"), "Ready", "True", null) ? pool("ready-main") : null);
    assertEquals(2, p.getStatus().getReadyReplicas());
    assertEquals(Names.selectorString(Names.poolSelector(p)), p.getStatus().getSelector());
    String json = Serialization.asJson(ready.getStatus()) + Serialization.asJson(p.getStatus());
    assertFalse(json.contains(creds.get("password")) || json.contains(Fixtures.JWT)
        || json.contains(creds.get("cluster-key")), "no secret value in status");
    assertEquals(creds, RuntimeConfigModel.decode(get(Secret.class, "ready-runtime-credentials")),
        "generated once and kept");
  }

  /**
   * Changes a spec the way kubectl does: on the latest version, again when the operator's status
   * write got there first (409).
   */
  private <T extends HasMetadata> void updateSpec(Class<T> type, String name, Consumer<T> change) {
    for (int attempt = 0; ; attempt++) {
      T latest = client.resources(type).inNamespace(Fixtures.NS).withName(name).get();
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
  void aSpecChangeRewritesExactlyTheObjectsItConcerns() throws Exception {
    String dbName = createDatabase("tenant_change");
    createSecrets("change");
    client.resource(newCluster("change", dbName, DB.db().port())).create();
    client.resource(newPool("change-main", "change", 1)).create();
    Await.until(WAIT, "DatabaseReady", () -> is(cluster("change"), "DatabaseReady", "True", null));
    Await.until(WAIT, "the runtime Deployment", () -> get(Deployment.class, "change-main"));
    Map<String, String> before = versions("change", "change-main");

    // A limit changes the runtime configuration: the config Secret and the runtime pods roll; nothing else.
    String hashBefore = get(Deployment.class, "change-main").getSpec().getTemplate().getMetadata().getAnnotations()
        .get(Names.CONFIG_HASH);
    updateSpec(RealtimeCluster.class, "change", x -> x.getSpec().getLimits().setMaxEventsPerSecond(500));
    Await.until(WAIT, "the runtime pods to roll", () -> !hashBefore.equals(get(Deployment.class, "change-main")
        .getSpec().getTemplate().getMetadata().getAnnotations().get(Names.CONFIG_HASH)));
    Map<String, String> after = versions("change", "change-main");
    for (String k : before.keySet()) {
      boolean expected = k.equals("Secret/change-runtime-config") || k.equals("Deployment/change-main");
      assertEquals(expected, !before.get(k).equals(after.get(k)), k + (expected ? " should change" : " should not change"));
    }

    // Scaling the pool touches only its Deployment.
    Map<String, String> before2 = versions("change", "change-main");
    updateSpec(SessionPool.class, "change-main", x -> x.getSpec().setReplicas(4));
    Await.until(WAIT, "4 replicas", () -> get(Deployment.class, "change-main").getSpec().getReplicas() == 4);
    Map<String, String> after2 = versions("change", "change-main");
    for (String k : before2.keySet()) {
      assertEquals(k.equals("Deployment/change-main"), !before2.get(k).equals(after2.get(k)), k);
    }
    assertEquals(hashBefore.length(), get(Deployment.class, "change-main").getSpec().getTemplate().getMetadata()
        .getAnnotations().get(Names.CONFIG_HASH).length());

    // A pooler parameter rolls only the pooler.
    Map<String, String> before3 = versions("change", "change-main");
    updateSpec(RealtimeCluster.class, "change",
        x -> x.getSpec().getPooler().setParameters(Map.of("default_pool_size", "33")));
    Await.until(WAIT, "pooler config", () -> RuntimeConfigModel.decode(get(Secret.class, "change-pooler-config"))
        .get("pgbouncer.ini").contains("default_pool_size = 33"));
    Await.until(WAIT, "pooler roll", () -> !before3.get("Deployment/change-pooler")
        .equals(versions("change", "change-main").get("Deployment/change-pooler")));
    Map<String, String> after3 = versions("change", "change-main");
    for (String k : before3.keySet()) {
      boolean expected = k.equals("Secret/change-pooler-config") || k.equals("Deployment/change-pooler");
      assertEquals(expected, !before3.get(k).equals(after3.get(k)), k);
    }
  }

  private static Map<String, String> versions(String cluster, String pool) {
    Map<String, String> m = new TreeMap<>();
    for (String s : List.of(cluster + "-runtime-config", cluster + "-runtime-credentials", cluster + "-pooler-config")) {
      m.put("Secret/" + s, get(Secret.class, s).getMetadata().getResourceVersion());
    }
    for (String s : List.of(cluster, cluster + "-discovery", cluster + "-pooler")) {
      m.put("Service/" + s, get(Service.class, s).getMetadata().getResourceVersion());
    }
    m.put("Deployment/" + cluster + "-pooler", get(Deployment.class, cluster + "-pooler").getMetadata().getResourceVersion());
    m.put("Deployment/" + pool, get(Deployment.class, pool).getMetadata().getResourceVersion());
    m.put("PodDisruptionBudget/" + pool, get(PodDisruptionBudget.class, pool).getMetadata().getResourceVersion());
    return m;
  }

  @Test
  void deletingWithRetainKeepsTheDatabaseObjectsAndRecordsAnEvent() throws Exception {
    String dbName = createDatabase("tenant_retain");
    createSecrets("retain");
    client.resource(newCluster("retain", dbName, DB.db().port())).create();
    Await.until(WAIT, "DatabaseReady", () -> is(cluster("retain"), "DatabaseReady", "True", null));
    String role = cluster("retain").getStatus().getRuntimeRole();
    client.resource(cluster("retain")).delete();
    Await.until(WAIT, "the cluster to go", () -> cluster("retain") == null);
    assertEquals(1, count(dbName, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'retain_slot'"));
    assertEquals(1, count(dbName, "SELECT count(*) FROM pg_roles WHERE rolname = '" + role + "'"));
    assertTrue(client.v1().events().inNamespace(Fixtures.NS).list().getItems().stream()
        .anyMatch(e -> "Retained".equals(e.getReason()) && "retain".equals(e.getInvolvedObject().getName())));
  }

  @Test
  void deletingWithDeleteDropsSlotPublicationsAndRoleButNotUserTables() throws Exception {
    String dbName = createDatabase("tenant_delete");
    try (Connection c = connect(dbName); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE public.votes (id int primary key)");
    }
    createSecrets("delete");
    RealtimeCluster rc = newCluster("delete", dbName, DB.db().port());
    rc.getSpec().setReclaimPolicy("Delete");
    client.resource(rc).create();
    Await.until(WAIT, "DatabaseReady", () -> is(cluster("delete"), "DatabaseReady", "True", null));
    String role = cluster("delete").getStatus().getRuntimeRole();
    assertEquals(2, count(dbName, "SELECT count(*) FROM pg_roles WHERE rolname IN ('" + role + "', '" + role + "_pgb')"));
    client.resource(cluster("delete")).delete();
    Await.until(WAIT, "the cluster to go", () -> cluster("delete") == null);
    assertEquals(0, count(dbName, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'delete_slot'"));
    assertEquals(0, count(dbName, "SELECT count(*) FROM pg_publication"));
    assertEquals(0, count(dbName, "SELECT count(*) FROM pg_roles WHERE rolname IN ('" + role + "', '" + role + "_pgb')"));
    assertEquals(1, count(dbName, "SELECT count(*) FROM pg_class WHERE relname = 'votes'"), "user tables stay");
  }

  /** A cluster, its Secrets and its namespace, for tests with several tenants; reclaimPolicy Delete. */
  RealtimeCluster tenant(String ns, String name, String database, String slot) {
    if (client.namespaces().withName(ns).get() == null) {
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns)
          .endMetadata().build()).create();
    }
    Secret owner = Fixtures.ownerSecret(name, EmbeddedDatabase.USER, EmbeddedDatabase.PASSWORD);
    owner.getMetadata().setNamespace(ns);
    Secret jwt = Fixtures.jwtSecret(name);
    jwt.getMetadata().setNamespace(ns);
    client.resource(owner).createOr(r -> r.update());
    client.resource(jwt).createOr(r -> r.update());
    RealtimeCluster rc = newCluster(name, database, DB.db().port());
    rc.getMetadata().setNamespace(ns);
    rc.getSpec().getCdc().setSlot(slot);
    rc.getSpec().setReclaimPolicy("Delete");
    return client.resource(rc).create();
  }

  RealtimeCluster in(String ns, String name) {
    return client.resources(RealtimeCluster.class).inNamespace(ns).withName(name).get();
  }

  @Test
  void twoTenantsOfOneNameInTwoNamespacesShareAServerAndNothingElse() throws Exception {
    String dbA = createDatabase("tenant_twin_a");
    String dbB = createDatabase("tenant_twin_b");
    tenant("party", "twin", dbA, "twin_a_slot");
    tenant("party-two", "twin", dbB, "twin_b_slot");
    Await.until(WAIT, "both DatabaseReady", () -> is(in("party", "twin"), "DatabaseReady", "True", null)
        && is(in("party-two", "twin"), "DatabaseReady", "True", null));
    String roleA = in("party", "twin").getStatus().getRuntimeRole();
    String roleB = in("party-two", "twin").getStatus().getRuntimeRole();
    assertNotEquals(roleA, roleB, "roles are server-wide: each tenant has its own");

    client.resources(RealtimeCluster.class).inNamespace("party-two").withName("twin").delete();
    Await.until(WAIT, "party-two/twin to go", () -> in("party-two", "twin") == null);
    assertEquals(0, count(dbB, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'twin_b_slot'"));
    assertEquals(0, count(dbB, "SELECT count(*) FROM pg_roles WHERE rolname = '" + roleB + "'"));
    assertEquals(1, count(dbA, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'twin_a_slot'"),
        "the other tenant keeps its slot");
    assertEquals(1, count(dbA, "SELECT count(*) FROM pg_roles WHERE rolname = '" + roleA + "'"), "and its role");
    assertTrue(is(in("party", "twin"), "DatabaseReady", "True", null));
  }

  @Test
  void aSlotNameTakenInAnotherDatabaseIsAConflictAndItsDeletionDropsNothingOfTheOther() throws Exception {
    String dbA = createDatabase("tenant_slot_a");
    String dbB = createDatabase("tenant_slot_b");
    tenant("party", "slot-a", dbA, "same_slot");
    Await.until(WAIT, "slot-a ReplicationReady", () -> is(in("party", "slot-a"), "ReplicationReady", "True", null));
    tenant("party", "slot-b", dbB, "same_slot");
    Await.until(WAIT, "slot-b's Conflict", () -> is(in("party", "slot-b"), "ReplicationReady", "False", "Conflict"));
    assertTrue(condition(in("party", "slot-b"), "ReplicationReady").get().getMessage().contains(dbA),
        "the message names the database that has the slot");

    client.resources(RealtimeCluster.class).inNamespace("party").withName("slot-b").delete();
    Await.until(WAIT, "slot-b to go", () -> in("party", "slot-b") == null);
    assertEquals(1, count(dbA, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'same_slot'"),
        "deleting slot-b leaves slot-a's slot");
  }

  @Test
  void aClusterProvisionedBeforeDatabasesWereClaimedClaimsItsOwn() throws Exception {
    String db = createDatabase("tenant_unclaimed");
    tenant("party", "older", db, "older_slot");
    Await.until(WAIT, "older DatabaseReady", () -> is(in("party", "older"), "DatabaseReady", "True", null));
    // as a cluster provisioned by an operator that did not claim databases: ready, its contract applied, no claim
    try (Connection c = connect(db); Statement st = c.createStatement()) {
      st.execute("DELETE FROM realtime.tenant");
    }
    Await.until(WAIT, "the claim on the next reconcile", () -> {
      try {
        return count(db, "SELECT count(*) FROM realtime.tenant WHERE tenant = 'party/older'") == 1;
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    });
  }

  @Test
  void aSecondTenantOnTheSameDatabaseIsRefusedAndItsDeletionDropsNothing() throws Exception {
    String db = createDatabase("tenant_shared");
    tenant("party", "first", db, "first_slot");
    Await.until(WAIT, "first DatabaseReady", () -> is(in("party", "first"), "DatabaseReady", "True", null));
    tenant("party-two", "second", db, "second_slot");
    Await.until(WAIT, "second's Conflict", () -> is(in("party-two", "second"), "DatabaseReady", "False", "Conflict"));
    assertTrue(condition(in("party-two", "second"), "DatabaseReady").get().getMessage().contains("party/first"),
        condition(in("party-two", "second"), "DatabaseReady").get().getMessage());
    assertEquals(0, count(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'second_slot'"),
        "a refused tenant creates nothing");

    client.resources(RealtimeCluster.class).inNamespace("party-two").withName("second").delete();
    Await.until(WAIT, "second to go", () -> in("party-two", "second") == null);
    String role = in("party", "first").getStatus().getRuntimeRole();
    assertEquals(1, count(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'first_slot'"));
    assertEquals(1, count(db, "SELECT count(*) FROM pg_publication WHERE pubname = 'first_pub'"));
    assertEquals(1, count(db, "SELECT count(*) FROM pg_roles WHERE rolname = '" + role + "'"));
    assertEquals(1, count(db, "SELECT count(*) FROM realtime.tenant WHERE tenant = 'party/first'"));
  }

  @Test
  void aMissingCaSecretIsAConditionAndTheCaReachesTheRuntimeOnceItExists() throws Exception {
    String dbName = createDatabase("tenant_ca");
    RealtimeCluster c = newCluster("withca", dbName, DB.db().port());
    RealtimeClusterSpec.CaSecret ca = new RealtimeClusterSpec.CaSecret();
    ca.setName("withca-db-ca");
    c.getSpec().getDatabase().setCaSecret(ca);
    createSecrets("withca");
    client.resource(c).create();
    Await.until(WAIT, "SecretMissing for the CA", () -> is(cluster("withca"), "DatabaseReady", "False", "SecretMissing"));
    assertTrue(condition(cluster("withca"), "DatabaseReady").get().getMessage().contains("withca-db-ca"));
    client.resource(new SecretBuilder().withNewMetadata().withName("withca-db-ca").withNamespace(Fixtures.NS).endMetadata()
        .withData(RuntimeConfigModel.encode(Map.of("ca.crt", "not a certificate"))).build()).create();
    Await.until(WAIT, "a CA that is not PEM named in the condition", () -> condition(cluster("withca"), "DatabaseReady")
        .map(x -> "False".equals(x.getStatus()) && x.getMessage().contains("database.caSecret") && x.getMessage()
            .contains("PEM")).orElse(false));
    String pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    client.secrets().inNamespace(Fixtures.NS).withName("withca-db-ca")
        .edit(x -> new SecretBuilder(x).withData(RuntimeConfigModel.encode(Map.of("ca.crt", pem))).build());
    Await.until(WAIT, "DatabaseReady", () -> is(cluster("withca"), "DatabaseReady", "True", null));
    Secret config = Await.until(WAIT, "runtime config", () -> get(Secret.class, "withca-runtime-config"));
    assertEquals(pem, RuntimeConfigModel.decode(config).get("REALTIME_DB_CA"));
    Secret pooler = Await.until(WAIT, "pooler config", () -> get(Secret.class, "withca-pooler-config"));
    assertEquals(pem, RuntimeConfigModel.decode(pooler).get("database-ca.crt"));
  }

  @Test
  void aMissingSecretIsAConditionAndTheClusterProceedsWhenItAppears() throws Exception {
    String dbName = createDatabase("tenant_secret");
    client.resource(newCluster("secret", dbName, DB.db().port())).create();
    Await.until(WAIT, "SecretMissing", () -> is(cluster("secret"), "DatabaseReady", "False", "SecretMissing"));
    assertTrue(condition(cluster("secret"), "DatabaseReady").get().getMessage().contains("secret-owner"));
    assertNotNull(Await.until(WAIT, "Services without the database", () -> get(Service.class, "secret-discovery")));
    assertNull(get(Secret.class, "secret-runtime-config"), "no configuration without the JWT secret");
    createSecrets("secret");
    Await.until(WAIT, "DatabaseReady", () -> is(cluster("secret"), "DatabaseReady", "True", null));
    Await.until(WAIT, "runtime config", () -> get(Secret.class, "secret-runtime-config"));
  }

  @Test
  void aPoolBeforeItsClusterWaitsAndStartsWhenTheClusterAppears() throws Exception {
    String dbName = createDatabase("tenant_early");
    client.resource(newPool("early-main", "early", 1)).create();
    Await.until(WAIT, "ClusterNotFound", () -> poolIs(pool("early-main"), "ClusterReady", "False", "ClusterNotFound"));
    assertNull(get(Deployment.class, "early-main"));
    createSecrets("early");
    client.resource(newCluster("early", dbName, DB.db().port())).create();
    Await.until(WAIT, "the runtime Deployment", () -> get(Deployment.class, "early-main"));
    Await.until(WAIT, "ClusterReady", () -> poolIs(pool("early-main"), "ClusterReady", "True", null));
  }

  @Test
  void deletingAClusterDeletesItsPoolsBeforeItsDatabaseObjects() throws Exception {
    String dbName = createDatabase("tenant_order");
    createSecrets("order");
    RealtimeCluster rc = newCluster("order", dbName, DB.db().port());
    rc.getSpec().setReclaimPolicy("Delete");
    client.resource(rc).create();
    client.resource(newPool("order-main", "order", 1)).create();
    Await.until(WAIT, "DatabaseReady", () -> is(cluster("order"), "DatabaseReady", "True", null));
    Await.until(WAIT, "the pool's Deployment", () -> get(Deployment.class, "order-main"));

    client.resource(cluster("order")).delete();
    Await.until(WAIT, "the cluster to go", () -> cluster("order") == null);
    assertNull(pool("order-main"), "the pool went with its cluster");
    List<Event> events = client.v1().events().inNamespace(Fixtures.NS).list().getItems()
        .stream().filter(e -> "order".equals(e.getInvolvedObject().getName())).toList();
    List<String> reasons = events.stream().map(Event::getReason).toList();
    assertTrue(reasons.contains("DeletingPools") && reasons.contains("Deleted"), reasons.toString());
    long poolsAt = Long.parseLong(events.stream().filter(e -> "DeletingPools".equals(e.getReason())).findFirst()
        .orElseThrow().getMetadata().getResourceVersion());
    long deletedAt = Long.parseLong(events.stream().filter(e -> "Deleted".equals(e.getReason())).findFirst()
        .orElseThrow().getMetadata().getResourceVersion());
    assertTrue(poolsAt < deletedAt, "the pools were deleted before the database objects were dropped");
    assertEquals(0, count(dbName, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'order_slot'"));
  }

  @Test
  void aMalformedTableEntryIsAnInvalidSpecConditionNamingIt() throws Exception {
    String dbName = createDatabase("tenant_tables");
    createSecrets("tables");
    RealtimeCluster rc = newCluster("tables", dbName, DB.db().port());
    rc.getSpec().getCdc().setTables(List.of("public.votes", "votes"));
    client.resource(rc).create();
    Await.until(WAIT, "InvalidSpec", () -> is(cluster("tables"), "DatabaseReady", "False", "InvalidSpec"));
    assertTrue(condition(cluster("tables"), "DatabaseReady").get().getMessage().contains("'votes'"),
        condition(cluster("tables"), "DatabaseReady").get().getMessage());
  }

  @Test
  void objectsOfTheSameNameThatAreNotTheOperatorsAreLeftAloneWithAConflict() throws Exception {
    String dbName = createDatabase("tenant_clash");
    createSecrets("clash");
    client.resource(new ServiceBuilder().withNewMetadata().withName("clash-discovery")
        .withNamespace(Fixtures.NS).addToLabels("app", "mine").endMetadata().withNewSpec().addNewPort().withPort(80)
        .endPort().endSpec().build()).create();
    client.resource(new DeploymentBuilder().withNewMetadata().withName("clash-main")
        .withNamespace(Fixtures.NS).addToLabels("app", "mine").endMetadata().withNewSpec().withNewSelector()
        .addToMatchLabels("app", "mine").endSelector().withNewTemplate().withNewMetadata().addToLabels("app", "mine")
        .endMetadata().withNewSpec().addNewContainer().withName("mine").withImage("mine:1").endContainer().endSpec()
        .endTemplate().endSpec().build()).create();
    client.resource(newCluster("clash", dbName, DB.db().port())).create();
    client.resource(newPool("clash-main", "clash", 1)).create();

    Await.until(WAIT, "the cluster's Conflict", () -> is(cluster("clash"), "Ready", "False", "Conflict"));
    assertTrue(condition(cluster("clash"), "Ready").get().getMessage().contains("Service clash-discovery"),
        condition(cluster("clash"), "Ready").get().getMessage());
    Await.until(WAIT, "the pool's Conflict", () -> poolIs(pool("clash-main"), "Ready", "False", "Conflict"));
    Service theirs = get(Service.class, "clash-discovery");
    assertEquals(Map.of("app", "mine"), theirs.getMetadata().getLabels(), "left as it was");
    assertTrue(theirs.getMetadata().getOwnerReferences() == null || theirs.getMetadata().getOwnerReferences().isEmpty());
    assertEquals("mine:1", get(Deployment.class, "clash-main").getSpec().getTemplate().getSpec().getContainers().get(0)
        .getImage());
  }

  @Test
  void aBlockedDeletionGoesOnceTheCleanupIsGivenUp() throws Exception {
    createSecrets("gone");
    RealtimeCluster rc = newCluster("gone", "postgres", closedPort());
    rc.getSpec().setReclaimPolicy("Delete");
    client.resource(rc).create();
    Await.until(WAIT, "Unreachable", () -> is(cluster("gone"), "DatabaseReady", "False", "Unreachable"));
    client.resource(cluster("gone")).delete();
    Await.until(WAIT, "DeleteBlocked retried", () -> client.v1().events().inNamespace(Fixtures.NS).list().getItems()
        .stream().anyMatch(e -> "DeleteBlocked".equals(e.getReason()) && "gone".equals(e.getInvolvedObject().getName())
            && e.getCount() >= 2));
    assertEquals(1, client.v1().events().inNamespace(Fixtures.NS).list().getItems().stream()
        .filter(e -> "DeleteBlocked".equals(e.getReason()) && "gone".equals(e.getInvolvedObject().getName())).count(),
        "one Event whose count rises, not one per retry");
    assertNotNull(cluster("gone"), "the finalizer holds it while the database cannot be cleaned");

    RealtimeCluster latest = cluster("gone");
    latest.getMetadata().setAnnotations(Map.of(Names.SKIP_DATABASE_CLEANUP, "true"));
    client.resource(latest).update();
    Await.until(WAIT, "the cluster to go", () -> cluster("gone") == null);
    assertTrue(client.v1().events().inNamespace(Fixtures.NS).list().getItems().stream()
        .anyMatch(e -> "DatabaseCleanupSkipped".equals(e.getReason()) && "gone".equals(e.getInvolvedObject().getName())));
  }

  static int closedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void anUnreachableDatabaseIsAConditionAndProvisioningResumesWhenItIsBack() throws Exception {
    Path dir = Files.createTempDirectory("pgdata");
    Files.delete(dir);
    EmbeddedDatabase own = EmbeddedDatabase.start(0, Optional.of(dir));
    int port = own.port();
    own.close();
    createSecrets("down");
    client.resource(newCluster("down", "postgres", port)).create();
    Await.until(WAIT, "Unreachable", () -> is(cluster("down"), "DatabaseReady", "False", "Unreachable"));
    assertNotNull(Await.until(WAIT, "objects not needing the database", () -> get(Deployment.class, "down-pooler")));
    assertNull(get(Secret.class, "down-runtime-config"), "no runtime configuration before its role exists");
    assertFalse(is(cluster("down"), "Ready", "True", null));
    EmbeddedDatabase back = EmbeddedDatabase.start(port, Optional.of(dir));
    try {
      Await.until(Duration.ofSeconds(60), "DatabaseReady after restart",
          () -> is(cluster("down"), "DatabaseReady", "True", null));
      Await.until(WAIT, "the runtime configuration once the database is provisioned",
          () -> get(Secret.class, "down-runtime-config"));
      try (Connection c = back.connect(); Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'down_slot'")) {
        rs.next();
        assertEquals(1, rs.getLong(1));
      }
    } finally {
      client.resource(cluster("down")).delete();
      Await.until(WAIT, "the cluster to go", () -> cluster("down") == null);
      back.close();
    }
  }

  @Test
  void aPoolerParameterOutsideTheAllowListIsAConditionNotACrash() throws Exception {
    String dbName = createDatabase("tenant_bad");
    createSecrets("bad");
    RealtimeCluster c = newCluster("bad", dbName, DB.db().port());
    c.getSpec().getPooler().setParameters(Map.of("listen_port", "1"));
    client.resource(c).create();
    Await.until(WAIT, "InvalidParameter", () -> is(cluster("bad"), "PoolerReady", "False", "InvalidParameter"));
    assertNull(get(Deployment.class, "bad-pooler"));
    assertNotEquals(null, get(Service.class, "bad"));
  }
}
