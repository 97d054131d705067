package io.whatssound.realtime.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.Operator;
import io.whatssound.realtime.operator.Await;
import io.whatssound.realtime.operator.Operators;
import io.whatssound.realtime.operator.api.Condition;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterStatus;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.model.Conditions;
import io.whatssound.realtime.operator.model.Names;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.operator.model.RuntimeConfigModel;
import io.whatssound.realtime.operator.reconciler.RealtimeClusterReconciler;
import io.whatssound.realtime.operator.reconciler.Timing;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.postgres.TestClock;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The path of docs/kubernetes.md on the mock API server: the operator (assembled by {@link Operators#create}, as
 * {@code OperatorMain} does, watching one namespace) with a real embedded PostgreSQL; {@code examples/listening-party}
 * applied as committed, except that the database host, port and owner credentials point at the embedded database;
 * then {@code schema.sql}. Deployment readiness is simulated (the mock server runs no pods).
 */
@EnableKubernetesMockClient(crud = true)
class ListeningPartyExampleTest {
  static final String NS = "listening-party";
  static final String CLUSTER = "listening-party";
  static final String POOL = "listening-party-main";
  static final String DATABASE = "listening_party";
  /** The default runtime role of the example's cluster: server-wide, so it names the namespace and a hash. */
  static final String ROLE = Names.runtimeRole(exampleCluster());
  /** Its default slot (the example names none): server-wide too. */
  static final String SLOT = Names.slot(exampleCluster());
  static final Duration WAIT = Duration.ofSeconds(30);
  static final List<String> APP_TABLES = List.of("chat_messages", "sessions", "song_queue", "tips", "votes");

  static KubernetesClient client;
  static EmbeddedDatabase db;

  static RealtimeCluster exampleCluster() {
    RealtimeCluster c = Serialization.unmarshal(
        Examples.one("RealtimeCluster").toString(), RealtimeCluster.class);
    c.getMetadata().setNamespace(NS);
    return c;
  }

  @BeforeAll
  static void startDatabase() throws Exception {
    db = EmbeddedDatabase.start(0, Optional.empty());
    try (Connection c = db.connect(); Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + DATABASE);
    }
  }

  @AfterAll
  static void stopDatabase() throws Exception {
    if (db != null) {
      db.close();
    }
  }

  @Test
  void theListeningPartyExampleBecomesReadyWithEveryObjectAndItsSchema() throws Exception {
    assertEquals(Examples.knownYamlFiles(), Examples.yamlFiles(),
        "every YAML file of the example is checked; add a new one to Examples.MANIFESTS or ALTERNATIVES");
    installCrds();
    AtomicInteger connects = new AtomicInteger();
    DatabaseConnector jdbc = DatabaseConnector.jdbc();
    DatabaseConnector counting = (d, u, p, ca) -> {
      connects.incrementAndGet();
      return jdbc.connect(d, u, p, ca);
    };
    OperatorDefaults defaults = new OperatorDefaults("registry.example/realtime-runtime:test",
        "registry.example/pgbouncer:test", "cluster.local");
    TestClock clock = new TestClock(Instant.now());
    Operator operator = Operators.create(client, clock, counting, defaults,
        new Timing(Duration.ofSeconds(1), Duration.ofMillis(500), Duration.ofSeconds(2)), Set.of(NS), Optional.empty());
    operator.start();
    try {
      applyExample();
      Await.until(WAIT, "DatabaseReady", () -> is(cluster(), RealtimeClusterReconciler.DATABASE_READY, "True"));
      applySchema();

      Deployment runtime = Await.until(WAIT, "the runtime Deployment", () -> get(Deployment.class, POOL));
      Deployment pooler = Await.until(WAIT, "the pooler Deployment", () -> get(Deployment.class, CLUSTER + "-pooler"));
      assertFalse(is(cluster(), "Ready", "True"), "not Ready before the pooler's pods are");
      markReady(pooler.getMetadata().getName(), 2);
      markReady(runtime.getMetadata().getName(), 2);
      RealtimeCluster ready = Await.until(WAIT, "the cluster Ready", () -> is(cluster(), "Ready", "True") ? cluster() : null);
      SessionPool pool = Await.until(WAIT, "the pool Ready", () -> poolIs("Ready", "True") ? pool() : null);

      assertRuntimeConfiguration();
      assertDeployments();
      assertServicesAndBudget();
      assertClusterStatus(ready.getStatus());
      assertEquals(2, pool.getStatus().getReadyReplicas());
      assertEquals(2, pool.getStatus().getReplicas());
      assertEquals(Names.selectorString(Names.poolSelector(pool)), pool.getStatus().getSelector());
      assertTrue(Conditions.find(pool.getStatus().getConditions(), "ClusterReady").map(Condition::isTrue).orElse(false));
      String status = Serialization.asJson(ready.getStatus()) + Serialization.asJson(pool.getStatus());
      assertFalse(status.contains(jwtSecret()) || status.contains(runtimePassword()), "no secret value in status");

      assertDatabase();
      assertChatPartitionsRollIntoTheNextMonth(clock);
      // The operator keeps reconciling (slot polling); the tables schema.sql published stay published.
      int seen = connects.get();
      Await.until(WAIT, "two more reconciles", () -> connects.get() >= seen + 2);
      assertEquals(APP_TABLES, publishedAppTables(), "the operator leaves a publication without cdc.tables to the user");

      // reclaimPolicy: Retain (the example's): deleting the tenant leaves the slot and the role in the database.
      client.resource(cluster()).delete();
      Await.until(WAIT, "the cluster to go", () -> cluster() == null);
      assertEquals(1, count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + SLOT + "'"));
      assertEquals(1, count("SELECT count(*) FROM pg_roles WHERE rolname = '" + ROLE + "'"));
      assertTrue(client.v1().events().inNamespace(NS).list().getItems().stream()
          .anyMatch(e -> "Retained".equals(e.getReason()) && CLUSTER.equals(e.getInvolvedObject().getName())));
    } finally {
      operator.stop();
    }
  }

  private static void installCrds() throws Exception {
    Path crds = Path.of(System.getProperty("crds.committed", "../crds"));
    for (String f : List.of("realtimeclusters.realtime.whatssound.io-v1.yml", "sessionpools.realtime.whatssound.io-v1.yml")) {
      try (InputStream in = Files.newInputStream(crds.resolve(f))) {
        CustomResourceDefinition crd = client.getKubernetesSerialization().unmarshal(in, CustomResourceDefinition.class);
        if (client.resource(crd).get() == null) {
          client.resource(crd).create();
        }
      }
    }
  }

  /**
   * {@code kubectl apply -n listening-party -f secrets.yaml -f realtimecluster.yaml -f sessionpool.yaml}; the embedded
   * database stands in for postgres.yaml.
   */
  private static void applyExample() {
    for (ObjectNode doc : Examples.allDocuments()) {
      if (Examples.documents("postgres.yaml").contains(doc)) {
        continue;
      }
      String kind = doc.path("kind").asText();
      HasMetadata object = switch (kind) {
        case "Secret" -> {
          Secret s = Serialization.unmarshal(doc.toString(), Secret.class);
          if (s.getMetadata().getName().equals(ownerSecretName())) {
            // the only values changed: the owner credentials of the embedded database
            s.getStringData().put("username", EmbeddedDatabase.USER);
            s.getStringData().put("password", EmbeddedDatabase.PASSWORD);
          }
          yield s;
        }
        case "RealtimeCluster" -> {
          RealtimeCluster c = Serialization.unmarshal(doc.toString(), RealtimeCluster.class);
          c.getSpec().getDatabase().setHost("127.0.0.1");
          c.getSpec().getDatabase().setPort(db.port());
          yield c;
        }
        case "SessionPool" -> Serialization.unmarshal(doc.toString(), SessionPool.class);
        default -> throw new AssertionError("the example has a " + kind + " this test does not apply");
      };
      object.getMetadata().setNamespace(NS);
      client.resource(object).create();
    }
  }

  private static String ownerSecretName() {
    return Examples.one("RealtimeCluster").at("/spec/database/credentialsSecret/name").asText();
  }

  private static String jwtSecret() {
    ObjectNode c = Examples.one("RealtimeCluster");
    return Examples.secret(c.at("/spec/auth/jwtSecret/name").asText()).at("/stringData/"
        + c.at("/spec/auth/jwtSecret/key").asText()).asText();
  }

  private static String runtimePassword() {
    return RuntimeConfigModel.decode(get(Secret.class, CLUSTER + "-runtime-credentials")).get("password");
  }

  /** {@code psql -v ON_ERROR_STOP=1 -f schema.sql} as the owner. */
  private static void applySchema() throws SQLException {
    try (Connection c = connect(EmbeddedDatabase.USER, EmbeddedDatabase.PASSWORD); Statement st = c.createStatement()) {
      st.execute(Examples.read("schema.sql"));
    }
  }

  private void assertRuntimeConfiguration() {
    Map<String, String> env = RuntimeConfigModel.decode(get(Secret.class, CLUSTER + "-runtime-config"));
    String password = runtimePassword();
    assertEquals(RuntimeConfigModel.postgresUrl(ROLE, password, "127.0.0.1", db.port(), DATABASE, "prefer"),
        env.get("REALTIME_DB_URL"));
    assertEquals(RuntimeConfigModel.postgresUrl(ROLE, password, "listening-party-pooler.listening-party.svc", 5432,
        DATABASE, "disable"), env.get("REALTIME_DB_POOL_URL"));
    assertEquals(jwtSecret(), env.get("REALTIME_JWT_SECRET"));
    assertEquals("false", env.get("REALTIME_DB_PROVISION"));
    assertEquals("supabase_realtime", env.get("REALTIME_PUBLICATION"));
    assertEquals(SLOT, env.get("REALTIME_SLOT"));
    assertEquals("5000", env.get("REALTIME_MAX_CONCURRENT_USERS"));
    assertEquals("2000", env.get("REALTIME_MAX_EVENTS_PER_SECOND"));
    assertEquals("500", env.get("REALTIME_MAX_JOINS_PER_SECOND"));
    assertEquals("20", env.get("REALTIME_MAX_CHANNELS_PER_CLIENT"));
    assertEquals("256", env.get("REALTIME_MAX_PAYLOAD_KB"));
    assertEquals("false", env.get("REALTIME_PRIVATE_ONLY"));
    assertEquals("listening-party-discovery.listening-party.svc.cluster.local", env.get("REALTIME_CLUSTER_DNS"));
    Map<String, String> creds = RuntimeConfigModel.decode(get(Secret.class, CLUSTER + "-runtime-credentials"));
    assertEquals(ROLE, creds.get("username"));
    assertEquals(ROLE + "_pgb", creds.get("pooler-username"));
  }

  private void assertDeployments() {
    Deployment runtime = get(Deployment.class, POOL);
    assertEquals(2, runtime.getSpec().getReplicas());
    Container c = runtime.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertEquals("registry.example/realtime-runtime:test", c.getImage(), "the operator's RUNTIME_IMAGE");
    assertEquals(new Quantity("1"), c.getResources().getRequests().get("cpu"));
    assertEquals(new Quantity("1Gi"), c.getResources().getLimits().get("memory"));
    assertEquals(CLUSTER + "-runtime-config", c.getEnvFrom().get(0).getSecretRef().getName());
    Map<String, String> env = c.getEnv().stream().filter(e -> e.getValue() != null)
        .collect(Collectors.toMap(EnvVar::getName, EnvVar::getValue));
    assertTrue(env.get("JAVA_TOOL_OPTIONS").contains("-XX:MaxRAMPercentage=70.0"), env.toString());
    assertEquals("15000", env.get("REALTIME_SHUTDOWN_DRAIN_MS"));
    assertEquals("5000", env.get("REALTIME_MAX_CONCURRENT_USERS"));
    assertTrue(runtime.getSpec().getTemplate().getSpec().getSecurityContext().getRunAsNonRoot());
    assertTrue(c.getSecurityContext().getReadOnlyRootFilesystem());
    assertEquals(5L, c.getLifecycle().getPreStop().getSleep().getSeconds(), "the kubelet sleeps: no shell in the image");
    assertNotNull(runtime.getSpec().getTemplate().getMetadata().getAnnotations().get(Names.CONFIG_HASH));

    Deployment pooler = get(Deployment.class, CLUSTER + "-pooler");
    assertEquals(2, pooler.getSpec().getReplicas(), "spec.pooler.instances");
    assertEquals("registry.example/pgbouncer:test", pooler.getSpec().getTemplate().getSpec().getContainers().get(0).getImage());
    String ini = RuntimeConfigModel.decode(get(Secret.class, CLUSTER + "-pooler-config")).get("pgbouncer.ini");
    assertTrue(ini.contains(DATABASE + " = host=127.0.0.1 port=" + db.port() + " dbname=" + DATABASE), ini);
    for (String line : List.of("pool_mode = transaction", "default_pool_size = 20", "max_client_conn = 2000",
        "server_tls_sslmode = prefer", "auth_user = " + ROLE + "_pgb")) {
      assertTrue(ini.contains(line + "\n"), line + " in\n" + ini);
    }
    String owner = get(Deployment.class, POOL).getMetadata().getOwnerReferences().get(0).getKind();
    assertEquals("SessionPool", owner);
    assertEquals("RealtimeCluster", pooler.getMetadata().getOwnerReferences().get(0).getKind());
  }

  private void assertServicesAndBudget() {
    Service clientService = get(Service.class, CLUSTER);
    assertEquals("ClusterIP", clientService.getSpec().getType());
    assertEquals(4000, clientService.getSpec().getPorts().get(0).getPort());
    assertEquals(Names.runtimeSelector(CLUSTER), clientService.getSpec().getSelector());
    Service discovery = get(Service.class, CLUSTER + "-discovery");
    assertEquals("None", discovery.getSpec().getClusterIP(), "headless: DNS_PING finds the pods");
    Service pooler = get(Service.class, CLUSTER + "-pooler");
    assertEquals(5432, pooler.getSpec().getPorts().get(0).getPort());
    PodDisruptionBudget pdb = get(PodDisruptionBudget.class, POOL);
    assertEquals(1, pdb.getSpec().getMaxUnavailable().getIntVal());
    assertEquals(Names.poolSelector(pool()), pdb.getSpec().getSelector().getMatchLabels());
  }

  /**
   * The example declares chat_messages monthly with two months made ahead: schema.sql made this month's and the
   * next, the operator the one before and the second ahead. A month later (the operator's clock moved on), the
   * operator makes the next one.
   */
  private void assertChatPartitionsRollIntoTheNextMonth(TestClock clock) throws SQLException {
    LocalDate month = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC).withDayOfMonth(1);
    RealtimeClusterStatus.TableStatus chat = Await.until(WAIT, "chat_messages partitions", () -> {
      var p = cluster().getStatus().getPartitions();
      return p == null || p.getTables() == null ? null : p.getTables().get(0);
    });
    assertEquals("public.chat_messages", chat.getTable());
    assertEquals(Boolean.TRUE, chat.getReady(), chat.getMessage());
    assertEquals(month.minusMonths(1).toString(), chat.getOldest());
    assertEquals(month.plusMonths(2).toString(), chat.getNewest());
    assertEquals(4, chat.getCount());

    clock.advance(Duration.between(clock.instant(), month.plusMonths(1).atStartOfDay().toInstant(ZoneOffset.UTC)
        .plus(Duration.ofHours(1))));
    String next = month.plusMonths(3).toString();
    Await.until(WAIT, "the partition of " + next, () -> next.equals(
        cluster().getStatus().getPartitions().getTables().get(0).getNewest()));
    assertEquals(1, count("SELECT count(*) FROM pg_class WHERE relname = 'chat_messages_p"
        + month.plusMonths(3).toString().substring(0, 7).replace('-', '_') + "'"));
    assertTrue(is(cluster(), RealtimeClusterReconciler.PARTITIONS_READY, "True"));
  }

  private void assertClusterStatus(RealtimeClusterStatus s) {
    assertEquals("ws://listening-party.listening-party.svc:4000/realtime/v1/websocket", s.getEndpoints().getWebsocket());
    assertEquals("http://listening-party.listening-party.svc:4000/realtime/v1/api/broadcast", s.getEndpoints().getRest());
    assertEquals("listening-party-pooler.listening-party.svc:5432", s.getEndpoints().getPooler());
    assertEquals(SLOT, s.getReplication().getSlot());
    assertNotNull(s.getReplication().getLagBytes());
    assertTrue(s.getPartitions().getCount() >= 4, "yesterday, today and premakeDays: 3 ahead");
    assertEquals(ROLE, s.getRuntimeRole());
    for (String type : List.of("DatabaseReady", "ReplicationReady", "PartitionsReady", "PoolerReady", "Ready")) {
      assertTrue(Conditions.find(s.getConditions(), type).map(Condition::isTrue).orElse(false),
          type + " in " + s.getConditions());
    }
  }

  private void assertDatabase() throws SQLException {
    assertEquals(APP_TABLES, publishedAppTables());
    assertEquals(5, count("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
        + "AND relkind IN ('r', 'p') AND relrowsecurity"), "RLS on every app table");
    assertTrue(count("SELECT count(*) FROM pg_policies WHERE schemaname = 'public'") >= 15);
    assertEquals(2, count("SELECT count(*) FROM pg_policies WHERE schemaname = 'realtime' AND tablename = 'messages' "
        + "AND policyname LIKE '%live party channels'"), "private channel policies");
    assertEquals(1, count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + SLOT + "'"));

    // The policies work as the runtime applies them: its role switches to the client's and sets the claims.
    String dj = "11111111-1111-1111-1111-111111111111";
    String fan = "22222222-2222-2222-2222-222222222222";
    try (Connection owner = connect(EmbeddedDatabase.USER, EmbeddedDatabase.PASSWORD); Statement st = owner.createStatement()) {
      st.execute("INSERT INTO public.sessions (id, host_id, title) VALUES ('00000000-0000-0000-0000-000000000042', '"
          + dj + "', 'Friday night')");
      st.execute("INSERT INTO public.song_queue (session_id, added_by, title, position) "
          + "VALUES ('00000000-0000-0000-0000-000000000042', '" + dj + "', 'Song A', 1)");
      st.execute("INSERT INTO public.tips (session_id, from_user, amount_cents) "
          + "VALUES ('00000000-0000-0000-0000-000000000042', '" + fan + "', 500)");
    }
    try (Connection rt = connect(ROLE, runtimePassword())) {
      rt.setAutoCommit(false);
      try (Statement st = rt.createStatement()) {
        st.execute("SET LOCAL ROLE anon");
        assertEquals(1, scalar(st, "SELECT count(*) FROM public.sessions"), "anon reads live sessions");
        assertEquals(1, scalar(st, "SELECT count(*) FROM public.song_queue"), "anon reads the queue");
        assertThrows(SQLException.class, () -> scalar(st, "SELECT count(*) FROM public.tips"), "anon reads no tips");
      }
      rt.rollback();
      try (Statement st = rt.createStatement()) {
        st.execute("SET LOCAL ROLE anon");
        assertThrows(SQLException.class, () -> st.execute("INSERT INTO public.votes (session_id, song_id, user_id, value) "
            + "SELECT session_id, id, '" + fan + "', 1 FROM public.song_queue"), "anon cannot vote");
      }
      rt.rollback();
      try (Statement st = rt.createStatement()) {
        st.execute("SET LOCAL ROLE authenticated");
        st.execute("SELECT set_config('request.jwt.claims', '{\"sub\":\"" + fan + "\",\"role\":\"authenticated\"}', true)");
        assertEquals(1, st.executeUpdate("INSERT INTO public.votes (session_id, song_id, user_id, value) "
            + "SELECT session_id, id, '" + fan + "', 1 FROM public.song_queue"), "a listener votes as themselves");
        assertEquals(1, scalar(st, "SELECT count(*) FROM public.tips"), "the tipper sees their tip");
        assertThrows(SQLException.class, () -> st.execute("INSERT INTO public.chat_messages (session_id, user_id, body) "
            + "VALUES ('00000000-0000-0000-0000-000000000042', '" + dj + "', 'not me')"), "nobody posts as someone else");
      }
      rt.rollback();
      try (Statement st = rt.createStatement()) {
        st.execute("SET LOCAL ROLE authenticated");
        st.execute("SELECT set_config('request.jwt.claims', '{\"sub\":\"33333333-3333-3333-3333-333333333333\"}', true)");
        assertEquals(0, scalar(st, "SELECT count(*) FROM public.tips"), "others do not see the tip");
      }
      rt.rollback();
    }
  }

  private static List<String> publishedAppTables() throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = connect(EmbeddedDatabase.USER, EmbeddedDatabase.PASSWORD); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT tablename FROM pg_publication_tables "
            + "WHERE pubname = 'supabase_realtime' AND schemaname = 'public' ORDER BY tablename")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  private static Connection connect(String user, String password) throws SQLException {
    return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + db.port() + "/" + DATABASE, user, password);
  }

  private static long count(String sql) throws SQLException {
    try (Connection c = connect(EmbeddedDatabase.USER, EmbeddedDatabase.PASSWORD); Statement st = c.createStatement()) {
      return scalar(st, sql);
    }
  }

  private static long scalar(Statement st, String sql) throws SQLException {
    try (ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static RealtimeCluster cluster() {
    return client.resources(RealtimeCluster.class).inNamespace(NS).withName(CLUSTER).get();
  }

  private static SessionPool pool() {
    return client.resources(SessionPool.class).inNamespace(NS).withName(POOL).get();
  }

  private static <T extends HasMetadata> T get(Class<T> type, String name) {
    return client.resources(type).inNamespace(NS).withName(name).get();
  }

  private static boolean is(RealtimeCluster c, String type, String status) {
    return c != null && c.getStatus() != null
        && Conditions.find(c.getStatus().getConditions(), type).map(x -> status.equals(x.getStatus())).orElse(false);
  }

  private static boolean poolIs(String type, String status) {
    SessionPool p = pool();
    return p != null && p.getStatus() != null
        && Conditions.find(p.getStatus().getConditions(), type).map(x -> status.equals(x.getStatus())).orElse(false);
  }

  /** What the Deployment controller would report once the pods pass their readiness probes. */
  private static void markReady(String deployment, int ready) {
    Deployment d = get(Deployment.class, deployment);
    d.setStatus(new DeploymentStatusBuilder().withReplicas(ready).withReadyReplicas(ready).withAvailableReplicas(ready)
        .withObservedGeneration(d.getMetadata().getGeneration()).build());
    client.resource(d).updateStatus();
  }
}
