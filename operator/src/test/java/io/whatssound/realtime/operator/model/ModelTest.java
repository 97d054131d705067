package io.whatssound.realtime.operator.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.whatssound.realtime.operator.Fixtures;
import io.whatssound.realtime.operator.api.Condition;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterSpec;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.api.SessionPoolSpec;
import io.whatssound.realtime.postgres.RuntimeEnv;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ModelTest {
  final OperatorDefaults defaults = OperatorDefaults.standard();
  final RealtimeCluster cluster = Fixtures.cluster("party42", "db.example", 5432, "app");

  private Map<String, String> env(RealtimeCluster c) {
    return RuntimeConfigModel.environment(c, "pw", "cluster-key-for-tests-0123", Optional.empty(), Optional.empty(),
        Optional.of(Fixtures.JWT), defaults);
  }

  @Test
  void runtimeConfigHoldsTheWholeEnvironmentContract() {
    Map<String, String> env = env(cluster);
    assertTrue(RuntimeEnv.ALL.containsAll(env.keySet()), "every variable written is one the runtime reads: "
        + env.keySet().stream().filter(k -> !RuntimeEnv.ALL.contains(k)).toList());
    assertEquals("4000", env.get("REALTIME_PORT"));
    assertEquals("9100", env.get("REALTIME_METRICS_PORT"), "metrics off the public port");
    String role = Names.runtimeRole(cluster);
    assertEquals("postgres://" + role + ":pw@db.example:5432/app?sslmode=disable", env.get("REALTIME_DB_URL"));
    assertEquals("postgres://" + role + ":pw@party42-pooler.party.svc:5432/app?sslmode=disable",
        env.get("REALTIME_DB_POOL_URL"));
    assertEquals("false", env.get("REALTIME_DB_PROVISION"));
    assertEquals("supabase_realtime", env.get("REALTIME_PUBLICATION"));
    assertTrue(env.get("REALTIME_SLOT").matches("realtime_party_party42_[0-9a-f]{8}"), env.get("REALTIME_SLOT"));
    assertEquals(Fixtures.JWT, env.get("REALTIME_JWT_SECRET"));
    assertFalse(env.containsKey("REALTIME_JWT_JWKS"));
    for (String k : List.of("REALTIME_MAX_CONCURRENT_USERS", "REALTIME_MAX_EVENTS_PER_SECOND",
        "REALTIME_MAX_JOINS_PER_SECOND", "REALTIME_MAX_CHANNELS_PER_CLIENT", "REALTIME_MAX_PAYLOAD_KB",
        "REALTIME_MAX_PRESENCE_CALLS", "REALTIME_PRESENCE_WINDOW_SECONDS")) {
      assertTrue(env.containsKey(k), k);
    }
    assertEquals("false", env.get("REALTIME_PRIVATE_ONLY"));
    assertEquals("party42-discovery.party.svc.cluster.local", env.get("REALTIME_CLUSTER_DNS"));
    assertEquals("7800", env.get("REALTIME_CLUSTER_PORT"));
    assertEquals("cluster-key-for-tests-0123", env.get("REALTIME_CLUSTER_KEY"), "the pods encrypt their cluster traffic");

    cluster.getSpec().getPooler().setEnabled(false);
    cluster.getSpec().getAuth().setJwksUrl("https://id.example/jwks.json");
    cluster.getSpec().setPrivateOnly(true);
    cluster.getSpec().getLimits().setMaxConcurrentUsers(5000);
    Map<String, String> direct = env(cluster);
    assertEquals(direct.get("REALTIME_DB_URL"), direct.get("REALTIME_DB_POOL_URL"));
    assertEquals("https://id.example/jwks.json", direct.get("REALTIME_JWT_JWKS"));
    assertEquals("true", direct.get("REALTIME_PRIVATE_ONLY"));
    assertEquals("5000", direct.get("REALTIME_MAX_CONCURRENT_USERS"));
  }

  @Test
  void historyIsOffUntilTheSpecAsksAndThenEverySettingReachesTheRuntime() {
    assertFalse(env(cluster).keySet().stream().anyMatch(k -> k.startsWith("REALTIME_HISTORY")),
        "without spec.history the runtime keeps Supabase's behaviour");
    RealtimeClusterSpec.History h = new RealtimeClusterSpec.History();
    h.setTopics(List.of("party:*", "dj:*"));
    h.setLatestEvents(List.of("playback:sync", "now_playing"));
    h.setRetentionHours(24);
    cluster.getSpec().setHistory(h);
    Map<String, String> env = env(cluster);
    assertEquals("party:*,dj:*", env.get("REALTIME_HISTORY_TOPICS"));
    assertEquals("24", env.get("REALTIME_HISTORY_RETENTION_HOURS"));
    assertEquals("500", env.get("REALTIME_HISTORY_BATCH_MS"));
    assertEquals("1000", env.get("REALTIME_REPLAY_MAX"));
    assertEquals("playback:sync,now_playing", env.get("REALTIME_LATEST_EVENTS"));
    assertTrue(RuntimeEnv.ALL.containsAll(env.keySet()));
  }

  @Test
  void passwordsAreUrlEncodedAndSecretDataIsBase64() {
    assertEquals("postgres://u:p%40ss%2Fw%3Ard@h:1/d?sslmode=require",
        RuntimeConfigModel.postgresUrl("u", "p@ss/w:rd", "h", 1, "d", "require"));
    var secret = RuntimeConfigModel.secret(cluster, env(cluster));
    assertEquals("party42-runtime-config", secret.getMetadata().getName());
    assertEquals(env(cluster), RuntimeConfigModel.decode(secret));
    assertTrue(secret.getStringData() == null || secret.getStringData().isEmpty());
  }

  @Test
  void runtimeDeploymentProbesDrainsAndSpreads() {
    SessionPool pool = Fixtures.pool("main", "party42", 3);
    Deployment d = RuntimeDeploymentModel.build(pool, "h1", defaults);
    assertEquals(3, d.getSpec().getReplicas());
    var pod = d.getSpec().getTemplate().getSpec();
    Container c = pod.getContainers().get(0);
    assertEquals(OperatorDefaults.RUNTIME_IMAGE, c.getImage());
    assertEquals("party42-runtime-config", c.getEnvFrom().get(0).getSecretRef().getName());
    assertEquals("/readyz", c.getReadinessProbe().getHttpGet().getPath());
    assertEquals("/healthz", c.getLivenessProbe().getHttpGet().getPath());
    assertEquals(4000, c.getPorts().get(0).getContainerPort());
    assertEquals(List.of("http", "metrics", "cluster"), c.getPorts().stream().map(p -> p.getName()).toList());
    assertEquals(9100, c.getPorts().get(1).getContainerPort());
    assertEquals(5L, c.getLifecycle().getPreStop().getSleep().getSeconds(), "the kubelet sleeps; no shell needed");
    assertNull(c.getLifecycle().getPreStop().getExec());
    assertEquals(5 + 10 + 10, pod.getTerminationGracePeriodSeconds());
    assertEquals("10000", envValue(c, "REALTIME_SHUTDOWN_DRAIN_MS"));
    assertTrue(envValue(c, "JAVA_TOOL_OPTIONS").contains("-XX:MaxRAMPercentage=70.0"));
    assertEquals(null, envValue(c, "REALTIME_MAX_CONCURRENT_USERS"));
    assertTrue(pod.getSecurityContext().getRunAsNonRoot());
    assertFalse(c.getSecurityContext().getAllowPrivilegeEscalation());
    assertEquals("kubernetes.io/hostname", pod.getTopologySpreadConstraints().get(0).getTopologyKey());
    assertEquals("h1", d.getSpec().getTemplate().getMetadata().getAnnotations().get(Names.CONFIG_HASH));
    assertEquals(Names.poolSelector(pool), d.getSpec().getSelector().getMatchLabels());
    assertTrue(d.getSpec().getTemplate().getMetadata().getLabels().entrySet()
        .containsAll(Names.runtimeSelector("party42").entrySet()), "the client Service selects every pool's pods");

    pool.getSpec().setHeapPercent(50);
    pool.getSpec().setMaxConnectionsPerPod(8000);
    pool.getSpec().setShutdownDrainSeconds(30);
    pool.getSpec().setImage("registry.example/rt:2");
    Deployment d2 = RuntimeDeploymentModel.build(pool, "h2", defaults);
    Container c2 = d2.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertTrue(envValue(c2, "JAVA_TOOL_OPTIONS").contains("-XX:MaxRAMPercentage=50.0"));
    assertEquals("8000", envValue(c2, "REALTIME_MAX_CONCURRENT_USERS"));
    assertEquals(45L, d2.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds());
    assertEquals("registry.example/rt:2", c2.getImage());
  }

  @Test
  void imagePullPoliciesComeFromTheOperatorUnlessThePoolSetsOne() {
    SessionPool pool = Fixtures.pool("main", "party42", 1);
    Container standard = RuntimeDeploymentModel.build(pool, "h", defaults).getSpec().getTemplate().getSpec()
        .getContainers().get(0);
    assertEquals("IfNotPresent", standard.getImagePullPolicy(), "the default");
    OperatorDefaults always = new OperatorDefaults("rt:1", "Always", "pgb:1", "Never", "cluster.local");
    assertEquals("Always", RuntimeDeploymentModel.build(pool, "h", always).getSpec().getTemplate().getSpec()
        .getContainers().get(0).getImagePullPolicy());
    pool.getSpec().setImagePullPolicy("Never");
    assertEquals("Never", RuntimeDeploymentModel.build(pool, "h", always).getSpec().getTemplate().getSpec()
        .getContainers().get(0).getImagePullPolicy(), "the pool's own wins");

    PgBouncerModel.Files f = PgBouncerModel.render(cluster, creds, PgBouncerModel.CONFIG_DIR);
    assertEquals("IfNotPresent", PgBouncerModel.deployment(cluster, f, defaults).getSpec().getTemplate().getSpec()
        .getContainers().get(0).getImagePullPolicy());
    assertEquals("Never", PgBouncerModel.deployment(cluster, f, always).getSpec().getTemplate().getSpec()
        .getContainers().get(0).getImagePullPolicy());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new OperatorDefaults("rt:1", "Sometimes", "pgb:1", "Always", "cluster.local"));
    assertTrue(e.getMessage().contains("runtime image pull policy"), e.getMessage());
  }

  private static String envValue(Container c, String name) {
    return c.getEnv().stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue).findFirst().orElse(null);
  }

  @Test
  void disruptionBudgetFollowsThePool() {
    SessionPool pool = Fixtures.pool("main", "party42", 3);
    PodDisruptionBudget pdb = DisruptionBudgetModel.build(pool).orElseThrow();
    assertEquals(1, pdb.getSpec().getMaxUnavailable().getIntVal());
    assertEquals(Names.poolSelector(pool), pdb.getSpec().getSelector().getMatchLabels());
    pool.getSpec().getDisruptionBudget().setEnabled(false);
    assertTrue(DisruptionBudgetModel.build(pool).isEmpty());
  }

  @Test
  void servicesSelectEveryPoolAndTheHeadlessOnePublishesNotReadyPods() {
    Service client = ServiceModels.client(cluster);
    assertEquals("party42", client.getMetadata().getName());
    assertEquals(Names.runtimeSelector("party42"), client.getSpec().getSelector());
    assertFalse(client.getSpec().getSelector().containsKey(Names.POOL_LABEL));
    assertEquals(4000, client.getSpec().getPorts().get(0).getPort());
    Service headless = ServiceModels.discovery(cluster);
    assertEquals("None", headless.getSpec().getClusterIP());
    assertTrue(headless.getSpec().getPublishNotReadyAddresses());
    assertEquals("cluster", headless.getSpec().getPorts().get(0).getName());
    assertEquals(7800, headless.getSpec().getPorts().get(0).getPort());
  }

  final PgBouncerModel.Credentials creds = new PgBouncerModel.Credentials("realtime_party42", "pw1", "realtime_party42_pgb", "pw2");

  @Test
  void pgbouncerIniIsSortedAllowListedAndUsesAuthQuery() {
    cluster.getSpec().getPooler().setParameters(Map.of("max_client_conn", "5000", "default_pool_size", "40"));
    PgBouncerModel.Files f = PgBouncerModel.render(cluster, creds, "/etc/pgbouncer");
    String ini = f.ini();
    assertTrue(ini.contains("[databases]\napp = host=db.example port=5432 dbname=app\n"), ini);
    List<String> keys = ini.substring(ini.indexOf("[pgbouncer]")).lines().skip(1).map(l -> l.split(" = ")[0]).toList();
    assertEquals(keys.stream().sorted().toList(), keys, "parameters are rendered in sorted order");
    assertTrue(ini.contains("max_client_conn = 5000\n"));
    assertTrue(ini.contains("default_pool_size = 40\n"));
    assertTrue(ini.contains("auth_user = realtime_party42_pgb\n"));
    assertTrue(ini.contains("auth_query = SELECT usename, passwd FROM realtime.pgbouncer_lookup($1)\n"));
    assertTrue(ini.contains("pool_mode = transaction\n"));
    assertEquals("\"realtime_party42_pgb\" \"pw2\"\n", f.userlist());
    assertEquals(f, PgBouncerModel.render(cluster, creds, "/etc/pgbouncer"), "rendering is deterministic");

    cluster.getSpec().getPooler().setAuthMode("Userlist");
    PgBouncerModel.Files u = PgBouncerModel.render(cluster, creds, "/etc/pgbouncer");
    assertFalse(u.ini().contains("auth_query"));
    assertEquals("\"realtime_party42\" \"pw1\"\n", u.userlist());
  }

  @Test
  void pgbouncerRejectsParametersOutsideTheAllowList() {
    cluster.getSpec().getPooler().setParameters(Map.of("auth_file", "/tmp/x"));
    var e = assertThrows(PgBouncerModel.InvalidParameterException.class,
        () -> PgBouncerModel.render(cluster, creds, "/etc/pgbouncer"));
    assertTrue(e.getMessage().contains("auth_file"));
    cluster.getSpec().getPooler().setParameters(Map.of("server_reset_query", "DISCARD ALL\n[databases]"));
    assertThrows(PgBouncerModel.InvalidParameterException.class, () -> PgBouncerModel.render(cluster, creds, "/x"));
  }

  @Test
  void pgbouncerSpecHashChangesOnlyWithConfigOrImage() {
    PgBouncerModel.Files f = PgBouncerModel.render(cluster, creds, PgBouncerModel.CONFIG_DIR);
    Deployment a = PgBouncerModel.deployment(cluster, f, defaults);
    var pod = a.getSpec().getTemplate().getSpec().getSecurityContext();
    assertEquals(PgBouncerModel.RUN_AS_USER, pod.getRunAsUser());
    assertEquals(PgBouncerModel.RUN_AS_USER, pod.getFsGroup(), "the config Secret (0440) is readable by PgBouncer's group");
    cluster.getSpec().getPooler().setInstances(5);
    Deployment b = PgBouncerModel.deployment(cluster, PgBouncerModel.render(cluster, creds, PgBouncerModel.CONFIG_DIR), defaults);
    String ha = a.getSpec().getTemplate().getMetadata().getAnnotations().get(Names.SPEC_HASH);
    assertEquals(ha, b.getSpec().getTemplate().getMetadata().getAnnotations().get(Names.SPEC_HASH),
        "scaling does not roll the pooler");
    assertEquals(5, b.getSpec().getReplicas());
    cluster.getSpec().getPooler().setPoolMode("session");
    Deployment c = PgBouncerModel.deployment(cluster, PgBouncerModel.render(cluster, creds, PgBouncerModel.CONFIG_DIR), defaults);
    assertNotEquals(ha, c.getSpec().getTemplate().getMetadata().getAnnotations().get(Names.SPEC_HASH));
    assertEquals("party42-pooler-config",
        a.getSpec().getTemplate().getSpec().getVolumes().get(0).getSecret().getSecretName());
    Service s = PgBouncerModel.service(cluster);
    assertEquals(Names.poolerSelector("party42"), s.getSpec().getSelector());
    assertEquals(Names.poolerSelector("party42"), a.getSpec().getSelector().getMatchLabels());
  }

  @Test
  void theDatabasesCaReachesTheRuntimeAndPgBouncer() {
    String pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    Map<String, String> env = RuntimeConfigModel.environment(cluster, "pw", "cluster-key-for-tests-0123",
        Optional.of(pem), Optional.empty(), Optional.of(Fixtures.JWT), defaults);
    assertEquals(pem, env.get("REALTIME_DB_CA"));
    assertFalse(env(cluster).containsKey("REALTIME_DB_CA"), "no CA, no variable");
    PgBouncerModel.Files plain = PgBouncerModel.render(cluster, creds, PgBouncerModel.CONFIG_DIR);
    PgBouncerModel.Files verified = PgBouncerModel.render(cluster, creds, PgBouncerModel.CONFIG_DIR,
        new PgBouncerModel.Tls(Optional.of(pem), Optional.empty()));
    assertFalse(plain.ini().contains("server_tls_ca_file"));
    assertTrue(verified.ini().contains("server_tls_ca_file = " + PgBouncerModel.CONFIG_DIR + "/database-ca.crt"),
        verified.ini());
    assertEquals(pem, verified.asMap().get("database-ca.crt"));
    String rotated = pem.replace("MIIB", "MIIC");
    assertNotEquals(PgBouncerModel.specHash(verified, "img"),
        PgBouncerModel.specHash(PgBouncerModel.render(cluster, creds, PgBouncerModel.CONFIG_DIR,
            new PgBouncerModel.Tls(Optional.of(rotated), Optional.empty())), "img"),
        "a new CA rolls the pooler, which reads it at start");
  }

  @Test
  void overTlsToTheDatabaseThePodsReachThePoolerOverTlsVerified() {
    cluster.getSpec().getDatabase().setSslMode("require");
    assertTrue(PgBouncerModel.clientTls(cluster.getSpec()));
    PoolerTls.Material tls = PoolerTls.generate(PoolerTls.names("party42", "party", "cluster.local"),
        Instant.parse("2026-03-10T12:00:00Z"));
    assertTrue(tls.ca().startsWith("-----BEGIN CERTIFICATE-----") && tls.key().startsWith("-----BEGIN PRIVATE KEY-----"));
    Map<String, String> env = RuntimeConfigModel.environment(cluster, "pw", "cluster-key-for-tests-0123",
        Optional.empty(), Optional.of(tls.ca()), Optional.of(Fixtures.JWT), defaults);
    assertTrue(env.get("REALTIME_DB_POOL_URL").startsWith("postgres://") && env.get("REALTIME_DB_POOL_URL")
        .endsWith("@party42-pooler.party.svc:5432/app?sslmode=verify-full"), env.get("REALTIME_DB_POOL_URL"));
    assertEquals(tls.ca(), env.get("REALTIME_DB_POOL_CA"));
    PgBouncerModel.Files f = PgBouncerModel.render(cluster, creds, PgBouncerModel.CONFIG_DIR,
        new PgBouncerModel.Tls(Optional.empty(), Optional.of(tls)));
    assertTrue(f.ini().contains("client_tls_sslmode = require"), f.ini());
    assertTrue(f.ini().contains("client_tls_key_file = " + PgBouncerModel.CONFIG_DIR + "/client-tls.key"), f.ini());
    assertEquals(tls.key(), f.asMap().get("client-tls.key"));
    cluster.getSpec().getDatabase().setSslMode("prefer");
    assertFalse(PgBouncerModel.clientTls(cluster.getSpec()), "no TLS to the database, none to the pooler");
    cluster.getSpec().getDatabase().setSslMode("verify-full");
    cluster.getSpec().getPooler().setEnabled(false);
    assertFalse(PgBouncerModel.clientTls(cluster.getSpec()), "no pooler");
  }

  @Test
  void thePoolerTakesResourcesAndPlacementLikeAPool() {
    PgBouncerModel.Files f = PgBouncerModel.render(cluster, creds, PgBouncerModel.CONFIG_DIR);
    var defaultPod = PgBouncerModel.deployment(cluster, f, defaults).getSpec().getTemplate();
    assertEquals("256Mi", defaultPod.getSpec().getContainers().get(0).getResources().getLimits().get("memory").toString());
    assertEquals("kubernetes.io/hostname", defaultPod.getSpec().getTopologySpreadConstraints().get(0).getTopologyKey());
    assertEquals(Names.poolerSelector("party42"),
        defaultPod.getSpec().getTopologySpreadConstraints().get(0).getLabelSelector().getMatchLabels());

    var pooler = cluster.getSpec().getPooler();
    pooler.setResources(new ResourceRequirementsBuilder().addToLimits("memory", new Quantity("512Mi")).build());
    SessionPoolSpec.Placement placement = new SessionPoolSpec.Placement();
    placement.setNodeSelector(Map.of("pool", "db-edge"));
    placement.setTolerations(List.of(new TolerationBuilder().withKey("dedicated").withOperator("Exists").build()));
    placement.setPriorityClassName("infra");
    placement.setPodLabels(Map.of("team", "listening", Names.COMPONENT_LABEL, "not-ours-to-change"));
    placement.setPodAnnotations(Map.of("example.com/scrape", "no"));
    pooler.setPlacement(placement);
    var pod = PgBouncerModel.deployment(cluster, f, defaults).getSpec().getTemplate();
    assertEquals("512Mi", pod.getSpec().getContainers().get(0).getResources().getLimits().get("memory").toString());
    assertEquals(Map.of("pool", "db-edge"), pod.getSpec().getNodeSelector());
    assertEquals("dedicated", pod.getSpec().getTolerations().get(0).getKey());
    assertEquals("infra", pod.getSpec().getPriorityClassName());
    assertEquals("listening", pod.getMetadata().getLabels().get("team"));
    assertEquals("pooler", pod.getMetadata().getLabels().get(Names.COMPONENT_LABEL), "the operator's labels win");
    assertEquals("no", pod.getMetadata().getAnnotations().get("example.com/scrape"));
    assertTrue(pod.getMetadata().getAnnotations().containsKey(Names.SPEC_HASH));
  }

  @Test
  void conditionsKeepTheirTransitionTimeUntilTheStatusFlips() {
    Clock t1 = Clock.fixed(Instant.parse("2026-03-10T12:00:00Z"), ZoneOffset.UTC);
    Clock t2 = Clock.fixed(Instant.parse("2026-03-10T12:05:00Z"), ZoneOffset.UTC);
    List<Condition> first = new Conditions(List.of(), t1, 1L).set("Ready", false, "A", "a").list();
    List<Condition> same = new Conditions(first, t2, 1L).set("Ready", false, "B", "b").list();
    assertEquals("2026-03-10T12:00:00Z", same.get(0).getLastTransitionTime());
    assertEquals("B", same.get(0).getReason());
    List<Condition> flipped = new Conditions(same, t2, 2L).set("Ready", true, "C", "c").list();
    assertEquals("2026-03-10T12:05:00Z", flipped.get(0).getLastTransitionTime());
    assertEquals(2L, flipped.get(0).getObservedGeneration());
  }

  @Test
  void networkPoliciesOpenClientsToAllAndClusterTrafficAndThePoolerOnlyToTheTenantsRuntimePods() {
    var runtime = NetworkPolicyModel.runtime(cluster);
    assertEquals("party42-runtime", runtime.getMetadata().getName());
    assertEquals(Names.runtimeSelector("party42"), runtime.getSpec().getPodSelector().getMatchLabels());
    assertEquals(List.of("Ingress"), runtime.getSpec().getPolicyTypes());
    var clients = runtime.getSpec().getIngress().get(0);
    assertTrue(clients.getFrom() == null || clients.getFrom().isEmpty(), "clients from anywhere");
    assertEquals(4000, clients.getPorts().get(0).getPort().getIntVal());
    var scrapers = runtime.getSpec().getIngress().get(1);
    assertEquals(9100, scrapers.getPorts().get(0).getPort().getIntVal());
    assertTrue(scrapers.getFrom().get(0).getNamespaceSelector().getMatchLabels() == null
        || scrapers.getFrom().get(0).getNamespaceSelector().getMatchLabels().isEmpty(),
        "metrics from pods of any namespace, not from outside the cluster");
    var peers = runtime.getSpec().getIngress().get(2);
    assertEquals(Names.runtimeSelector("party42"), peers.getFrom().get(0).getPodSelector().getMatchLabels());
    assertEquals(List.of(7800, 7900), peers.getPorts().stream().map(p -> p.getPort().getIntVal()).toList());
    var pooler = NetworkPolicyModel.pooler(cluster);
    assertEquals(Names.poolerSelector("party42"), pooler.getSpec().getPodSelector().getMatchLabels());
    assertEquals(1, pooler.getSpec().getIngress().size());
    assertEquals(Names.runtimeSelector("party42"),
        pooler.getSpec().getIngress().get(0).getFrom().get(0).getPodSelector().getMatchLabels());
    assertEquals(5432, pooler.getSpec().getIngress().get(0).getPorts().get(0).getPort().getIntVal());
  }

  @Test
  void namesAndLabels() {
    // roles are server-wide: the default names the namespace and carries a hash of namespace/name
    assertTrue(Names.runtimeRole(cluster).matches("realtime_party_party42_[0-9a-f]{8}"), Names.runtimeRole(cluster));
    RealtimeCluster elsewhere = Fixtures.cluster("party42", "db.example", 5432, "app");
    elsewhere.getMetadata().setNamespace("other");
    assertNotEquals(Names.runtimeRole(cluster), Names.runtimeRole(elsewhere), "same name, another namespace");
    RealtimeCluster ab = Fixtures.cluster("c", "h", 1, "d");
    ab.getMetadata().setNamespace("a-b");
    RealtimeCluster bc = Fixtures.cluster("b-c", "h", 1, "d");
    bc.getMetadata().setNamespace("a");
    assertNotEquals(Names.runtimeRole(ab), Names.runtimeRole(bc), "a-b/c and a/b-c read alike, the hash differs");
    RealtimeCluster longName = Fixtures.cluster("x".repeat(63), "h", 1, "d");
    longName.getMetadata().setNamespace("y".repeat(63));
    assertTrue(Names.poolerAuthRole(longName).length() <= 63, Names.poolerAuthRole(longName));
    // a cluster keeps the role it was provisioned with (status), whatever the default becomes
    RealtimeCluster provisioned = Fixtures.cluster("party42", "db.example", 5432, "app");
    provisioned.getStatus().setRuntimeRole("realtime_party42");
    assertEquals("realtime_party42", Names.runtimeRole(provisioned));
    cluster.getSpec().getDatabase().setRuntimeRole("rt");
    assertEquals("rt", Names.runtimeRole(cluster));
    SessionPool pool = Fixtures.pool("main", "party42", 1);
    assertEquals("realtime.whatssound.io/cluster=party42,app.kubernetes.io/component=runtime,realtime.whatssound.io/pool=main",
        Names.selectorString(Names.poolSelector(pool)));
  }
}
