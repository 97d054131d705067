package io.whatssound.realtime.bench.operator;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.whatssound.realtime.operator.api.Condition;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterSpec;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.api.SessionPoolSpec;
import io.whatssound.realtime.operator.kube.ControlPlane;
import io.whatssound.realtime.operator.model.Conditions;
import io.whatssound.realtime.operator.model.RuntimeConfigModel;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Scenario {@code operator}: one operator (in a child JVM, assembled by {@code Operators.create} as in the tests)
 * against Fabric8's CRUD mock API server ({@code --api mock}) or a real kube-apiserver ({@code --api real}: the
 * operator tests' {@code ControlPlane}, the operator with the chart's ServiceAccount token, requests counted from
 * the API server's audit log) and embedded PostgreSQL, handling N RealtimeClusters with one
 * SessionPool each. Measures the time from each cluster's creation to all of its objects, to
 * {@code DatabaseReady} and to {@code Ready} (a simulated kubelet marks every Deployment ready as soon as it
 * appears); reconciles (counted from JOSDK's {@code ReconciliationDispatcher} debug line "Reconciling resource",
 * one per {@code reconcile()} call) and API requests (the mock server's request log) during the burst, a settle
 * period and a quiet period in which nothing changes; the operator's heap after full GCs, idle and at steady
 * state, and its CPU per phase; then the latency from a spec change to the status that observed it (one cluster
 * after another, paced), and the time to converge after an operator restart with a spec change per cluster made
 * while it was down.
 */
public final class OperatorScenario {
  static final String NS = "party";
  static final String JWT = "bench-jwt-secret-of-at-least-32-characters";
  private static final Logger MOCK_LOG = Logger.getLogger("io.fabric8.mockwebserver");
  private static final Pattern RECONCILING = Pattern.compile("Reconciling resource (\\S+) with version");
  private static final Pattern RECEIVED = Pattern.compile("Received event: (\\w+)\\{");
  /** The objects one cluster with one pool (pooler enabled, 2 replicas) gets; {@code %s} is the cluster name. */
  private static final List<String> OBJECTS = List.of(
      "Service/%s", "Service/%s-discovery", "Service/%s-pooler",
      "Secret/%s-runtime-config", "Secret/%s-runtime-credentials", "Secret/%s-pooler-config",
      "Deployment/%s-pooler", "Deployment/%s-main", "PodDisruptionBudget/%s-main");

  private static final String USAGE = """
      usage: java -jar bench/target/realtime-bench.jar operator [options]
        --api mock            mock: Fabric8's CRUD mock API server; real: a kube-apiserver built by e2e/build.sh
        --clusters 100        RealtimeClusters (one SessionPool of 2 replicas each)
        --clusters-per-db 20  clusters per embedded PostgreSQL (EmbeddedDatabase allows 20 replication slots)
        --slot-poll 30 --min-retry 5 --max-retry 300   the operator's Timing (seconds; default Timing.standard())
        --settle 10           seconds after the last Ready before the quiet period
        --quiet 60            seconds in which nothing changes; reconciles are counted
        --timeout 300         seconds to wait for every cluster and pool to be Ready
        --changes-per-s 10    pace of the spec changes whose latency to status is measured
        --operator-jvm ""     extra JVM options of the operator process, space-separated (e.g. "-Xmx128m")
        --crds crds           folder with the generated CRDs
        --out bench/results   CSV folder (appends to operator.csv)
      """;

  private final Map<String, String> opts = new HashMap<>();
  private final Map<String, String> used = new LinkedHashMap<>();
  private volatile String phase = "setup";

  // times in System.nanoTime()
  private final Map<String, Long> created = new ConcurrentHashMap<>();
  private final Map<String, Long> seen = new ConcurrentHashMap<>();
  private final Map<String, Long> markedReady = new ConcurrentHashMap<>();
  private final Map<String, Long> dbReady = new ConcurrentHashMap<>();
  private final Map<String, Long> clusterReady = new ConcurrentHashMap<>();
  private final Map<String, Long> poolReady = new ConcurrentHashMap<>();
  // reconciles by phase|kind, and by phase|kind|name
  private final Map<String, AtomicLong> reconciles = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> events = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> reconcilesByName = new ConcurrentHashMap<>();
  private final AtomicLong operatorWarnings = new AtomicLong();
  private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
  // spec changes awaiting a status that observed them: name -> generation; and when each was observed
  private final Map<String, Long> expectGeneration = new ConcurrentHashMap<>();
  private final Map<String, Long> observedAt = new ConcurrentHashMap<>();

  private OperatorScenario(List<String> args) {
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("--help")) {
        throw new IllegalArgumentException(USAGE);
      }
      if (!a.startsWith("--") || i + 1 >= args.size()) {
        throw new IllegalArgumentException("Bad argument '" + a + "'\n" + USAGE);
      }
      opts.put(a.substring(2), args.get(++i));
    }
  }

  private String str(String name, String def) {
    String v = opts.getOrDefault(name, def);
    used.put(name, v);
    return v;
  }

  private int integer(String name, int def) {
    String v = str(name, Integer.toString(def));
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " must be a whole number, got '" + v + "'");
    }
  }

  /** Entry point from {@code Main}: returns the process exit code. */
  public static int run(List<String> args) throws Exception {
    // quiet loggers in this process (embedded PostgreSQL logs every line of initdb at info)
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    MOCK_LOG.setLevel(Level.WARNING); // the mock server logs every request at INFO
    OperatorScenario s;
    try {
      s = new OperatorScenario(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    return s.execute();
  }

  private int execute() throws Exception {
    int n = integer("clusters", 100);
    int perDb = integer("clusters-per-db", 20);
    int slotPoll = integer("slot-poll", 30);
    int minRetry = integer("min-retry", 5);
    int maxRetry = integer("max-retry", 300);
    int settle = integer("settle", 10);
    int quiet = integer("quiet", 60);
    int timeout = integer("timeout", 300);
    String jvm = str("operator-jvm", "");
    String api = str("api", "mock");
    int changesPerSecond = integer("changes-per-s", 10);
    if (!api.equals("mock") && !api.equals("real")) {
      System.err.println("--api is mock or real, got '" + api + "'\n" + USAGE);
      return 2;
    }
    Path crds = Path.of(str("crds", "crds"));
    Path out = Path.of(str("out", "bench/results"));
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("time", Instant.now().toString());
    result.putAll(used);
    result.put("load_start", loadAverage());
    result.put("cores", Runtime.getRuntime().availableProcessors());

    List<EmbeddedDatabase> dbs = new ArrayList<>();
    KubernetesMockServer server = null;
    ControlPlane cp = null;
    KubernetesClient client = null;
    Process operator = null;
    RequestTally tally = null;
    List<SharedIndexInformer<?>> informers = new ArrayList<>();
    ExecutorService kubelet = Executors.newFixedThreadPool(4);
    try {
      int instances = (n + perDb - 1) / perDb;
      long t = System.nanoTime();
      for (int i = 0; i < instances; i++) {
        dbs.add(EmbeddedDatabase.start(0, Optional.empty()));
      }
      log("%d embedded PostgreSQL instance(s) in %d ms", instances, ms(System.nanoTime() - t));

      String master;
      if (api.equals("real")) {
        // the repository's files, as the operator tests find them from operator/
        System.setProperty("examples.listeningParty", Path.of("examples/listening-party").toAbsolutePath().toString());
        System.setProperty("control-plane.dir", Path.of("bench/target/control-plane").toAbsolutePath().toString());
        String missing = ControlPlane.missing();
        if (missing != null) {
          System.err.println("--api real: " + missing);
          return 2;
        }
        t = System.nanoTime();
        cp = ControlPlane.startNew();
        log("control plane (Kubernetes %s) started in %d ms", ControlPlane.version(), ms(System.nanoTime() - t));
        Config config = ControlPlane.config(cp.kubeconfig());
        config.setNamespace(NS);
        config.setUserAgent(RequestTally.BENCH_AGENT);
        client = new KubernetesClientBuilder().withConfig(config).build();
        cp.kubectl("create", "namespace", NS).orFail();
        String token = cp.chartServiceAccountToken("bench", "realtime-system", List.of());
        master = "kubeconfig:" + cp.tokenKubeconfig("operator", token, NS);
        tally = RequestTally.auditLog(cp.auditLog(), "system:serviceaccount:realtime-system:bench-realtime-operator",
            () -> phase);
      } else {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
            new KubernetesCrudDispatcher(List.of()), false);
        server.init();
        master = server.url("/");
        tally = RequestTally.mockServer(server, () -> phase);
        Config config = new ConfigBuilder(Config.empty()).withMasterUrl(master).withTrustCerts(true).withNamespace(NS)
            .withHttp2Disable(true).withUserAgent(RequestTally.BENCH_AGENT).build();
        client = new KubernetesClientBuilder().withConfig(config).build();
      }
      for (String f : List.of("realtimeclusters.realtime.whatssound.io-v1.yml", "sessionpools.realtime.whatssound.io-v1.yml")) {
        try (InputStream in = Files.newInputStream(crds.resolve(f))) {
          client.resource(client.getKubernetesSerialization().unmarshal(in, CustomResourceDefinition.class)).create();
        }
      }
      if (cp != null) {
        cp.awaitEstablished("realtimeclusters.realtime.whatssound.io");
        cp.awaitEstablished("sessionpools.realtime.whatssound.io");
      }

      // the bench's own view: first sight of every object, readiness, and a kubelet that readies Deployments
      final KubernetesClient c = client;
      informers.add(watch(client, Service.class, o -> { }));
      informers.add(watch(client, Secret.class, o -> { }));
      informers.add(watch(client, PodDisruptionBudget.class, o -> { }));
      informers.add(watch(client, Deployment.class, d -> {
        if (!markedReady.containsKey(d.getMetadata().getName())) {
          kubelet.execute(() -> markReady(c, d.getMetadata().getName()));
        }
      }));
      informers.add(watch(client, RealtimeCluster.class, rc -> {
        String name = rc.getMetadata().getName();
        if (rc.getStatus() != null) {
          long now = System.nanoTime();
          Long expected = expectGeneration.get(name);
          Long observed = rc.getStatus().getObservedGeneration();
          if (expected != null && observed != null && observed >= expected) {
            observedAt.putIfAbsent(name, now);
          }
          if (isTrue(rc.getStatus().getConditions(), "DatabaseReady")) {
            dbReady.putIfAbsent(name, now);
          }
          if (isTrue(rc.getStatus().getConditions(), "Ready")) {
            clusterReady.putIfAbsent(name, now);
          }
        }
      }));
      informers.add(watch(client, SessionPool.class, p -> {
        if (p.getStatus() != null && isTrue(p.getStatus().getConditions(), "Ready")) {
          poolReady.putIfAbsent(p.getMetadata().getName(), System.nanoTime());
        }
      }));

      operator = startOperator(master, jvm, slotPoll, minRetry, maxRetry);
      long[] idle = heap(operator);
      log("operator started; idle heap after GC %.1f MB", mb(idle[0]));
      result.put("heap_idle_mb", mb(idle[0]));

      // databases and Secrets first (not timed): the burst is the custom resources alone
      t = System.nanoTime();
      for (int i = 0; i < n; i++) {
        String name = name(i);
        try (Connection conn = dbs.get(i / perDb).connect(); Statement st = conn.createStatement()) {
          st.execute("CREATE DATABASE " + database(i));
        }
        client.resource(secret(name + "-owner", Map.of("username", EmbeddedDatabase.USER,
            "password", EmbeddedDatabase.PASSWORD))).create();
        client.resource(secret(name + "-jwt", Map.of("jwt-secret", JWT))).create();
      }
      log("%d databases and %d Secrets in %d ms", n, 2 * n, ms(System.nanoTime() - t));
      Thread.sleep(2000);

      // the burst
      phase = "burst";
      double cpuBurst0 = cpuSeconds(operator);
      long burstStart = System.nanoTime();
      for (int i = 0; i < n; i++) {
        String name = name(i);
        created.put(name, System.nanoTime());
        client.resource(cluster(name, database(i), dbs.get(i / perDb).port())).create();
        client.resource(pool(name + "-main", name, 2)).create();
      }
      long createdAll = System.nanoTime();
      log("%d clusters and pools created in %d ms", n, ms(createdAll - burstStart));
      long deadline = burstStart + TimeUnit.SECONDS.toNanos(timeout);
      while ((clusterReady.size() < n || poolReady.size() < n) && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      long burstEnd = System.nanoTime();
      boolean allReady = clusterReady.size() >= n && poolReady.size() >= n;
      phase = "settle";
      log("%s after %d ms: %d/%d clusters Ready, %d/%d pools Ready", allReady ? "all Ready" : "TIMEOUT",
          ms(burstEnd - burstStart), clusterReady.size(), n, poolReady.size(), n);
      if (!allReady) {
        describeNotReady(client, n);
      }
      double burstSeconds = (burstEnd - burstStart) / 1e9;
      double cpuBurst = cpuSeconds(operator) - cpuBurst0;

      Thread.sleep(settle * 1000L);
      tally.drain();
      Map<String, String> versionsBefore = versions(client);
      String statusBefore = statusJson(client, name(0));
      phase = "quiet";
      long quietStart = System.nanoTime();
      long connectsBefore = stats(operator);
      double cpuQuiet0 = cpuSeconds(operator);
      Thread.sleep(quiet * 1000L);
      double cpuQuiet = cpuSeconds(operator) - cpuQuiet0;
      long connectsAfter = stats(operator);
      phase = "after";
      double quietSeconds = (System.nanoTime() - quietStart) / 1e9;
      tally.drain();
      Map<String, String> versionsAfter = versions(client);
      String statusAfter = statusJson(client, name(0));
      long[] steady = heap(operator);
      log("steady heap after GC %.1f MB", mb(steady[0]));

      // a spec change per cluster, paced: from the update to a status that observed its generation
      phase = "changes";
      double cpuChanges0 = cpuSeconds(operator);
      Map<String, Long> changedAt = new HashMap<>();
      long changesStart = System.nanoTime();
      for (int i = 0; i < n; i++) {
        long due = changesStart + TimeUnit.SECONDS.toNanos(1) * i / Math.max(1, changesPerSecond);
        while (System.nanoTime() < due) {
          Thread.sleep(1);
        }
        String name = name(i);
        changedAt.put(name, System.nanoTime());
        expectGeneration.put(name, bumpSpec(client, name, 150));
      }
      awaitObserved(n, timeout);
      List<Long> changeLatency = new ArrayList<>();
      changedAt.forEach((name, at) -> Optional.ofNullable(observedAt.get(name)).ifPresent(o -> changeLatency.add(o - at)));
      double cpuChanges = cpuSeconds(operator) - cpuChanges0;
      log("%d/%d spec changes observed in status", changeLatency.size(), n);

      // an operator restart with a spec change per cluster made while it is down
      phase = "restart";
      command(operator, "stop");
      operator.waitFor(30, TimeUnit.SECONDS);
      expectGeneration.clear();
      observedAt.clear();
      for (int i = 0; i < n; i++) {
        expectGeneration.put(name(i), bumpSpec(client, name(i), 200));
      }
      long restartAt = System.nanoTime();
      operator = startOperator(master, jvm, slotPoll, minRetry, maxRetry);
      long restartReady = System.nanoTime();
      awaitObserved(n, timeout);
      long converged = observedAt.values().stream().mapToLong(Long::longValue).max().orElse(restartAt);
      log("restarted operator: ready in %d ms, %d/%d changes observed %d ms after its start",
          ms(restartReady - restartAt), observedAt.size(), n, ms(converged - restartAt));

      // per-cluster latencies
      List<Long> objects = new ArrayList<>();
      List<Long> toDbReady = new ArrayList<>();
      List<Long> toReady = new ArrayList<>();
      List<Long> readyAfterDeployments = new ArrayList<>();
      int incomplete = 0;
      for (int i = 0; i < n; i++) {
        String name = name(i);
        long c0 = created.get(name);
        long last = 0;
        boolean all = true;
        for (String o : OBJECTS) {
          Long s = seen.get(String.format(o, name));
          if (s == null) {
            all = false;
          } else {
            last = Math.max(last, s);
          }
        }
        if (all) {
          objects.add(last - c0);
        } else {
          incomplete++;
        }
        Optional.ofNullable(dbReady.get(name)).ifPresent(x -> toDbReady.add(x - c0));
        Long cr = clusterReady.get(name);
        Long pr = poolReady.get(name + "-main");
        if (cr != null && pr != null) {
          long ready = Math.max(cr, pr);
          toReady.add(ready - c0);
          Long m1 = markedReady.get(name + "-pooler");
          Long m2 = markedReady.get(name + "-main");
          if (m1 != null && m2 != null) {
            readyAfterDeployments.add(ready - Math.max(m1, m2));
          }
        }
      }

      result.put("create_all_ms", ms(createdAll - burstStart));
      result.put("all_ready", allReady);
      result.put("burst_s", burstSeconds);
      percentiles(result, "objects", objects);
      result.put("objects_incomplete", incomplete);
      percentiles(result, "db_ready", toDbReady);
      percentiles(result, "ready", toReady);
      percentiles(result, "ready_after_deploy_ready", readyAfterDeployments);

      long burstRtc = count(reconciles, "burst|cluster");
      long burstPool = count(reconciles, "burst|pool");
      result.put("burst_reconciles_cluster", burstRtc);
      result.put("burst_reconciles_pool", burstPool);
      result.put("burst_reconciles_per_s", (burstRtc + burstPool) / burstSeconds);
      result.put("burst_reconciles_per_cluster", (burstRtc + burstPool) / (double) n);
      Map<String, Long> burstOps = tally.of("burst", "operator");
      result.put("burst_api_requests", RequestTally.sum(burstOps, k -> true));
      result.put("burst_api_writes", RequestTally.sum(burstOps, RequestTally::isWrite));
      result.put("burst_status_writes", RequestTally.sum(burstOps, RequestTally::isStatusWrite));
      result.put("settle_reconciles", count(reconciles, "settle|cluster") + count(reconciles, "settle|pool"));

      long quietRtc = count(reconciles, "quiet|cluster");
      long quietPool = count(reconciles, "quiet|pool");
      Map<String, Long> quietOps = tally.of("quiet", "operator");
      result.put("quiet_s", quietSeconds);
      result.put("quiet_reconciles_cluster", quietRtc);
      result.put("quiet_reconciles_pool", quietPool);
      result.put("quiet_expected_slot_polls", Math.round(n * quietSeconds / slotPoll));
      result.put("quiet_events_primary", count(events, "quiet|cluster|ResourceEvent") + count(events, "quiet|pool|ResourceEvent"));
      result.put("quiet_events_other", count(events, "quiet|cluster|Event") + count(events, "quiet|pool|Event"));
      result.put("quiet_db_connections", connectsAfter - connectsBefore);
      result.put("quiet_api_requests", RequestTally.sum(quietOps, k -> true));
      result.put("quiet_api_gets", RequestTally.sum(quietOps, k -> k.startsWith("GET ") && !k.contains("(watch)")));
      result.put("quiet_api_writes", RequestTally.sum(quietOps, RequestTally::isWrite));
      result.put("quiet_status_writes", RequestTally.sum(quietOps, RequestTally::isStatusWrite));
      long changed = versionsAfter.entrySet().stream()
          .filter(e -> !e.getValue().equals(versionsBefore.get(e.getKey()))).count();
      result.put("quiet_objects_changed", changed);
      result.put("quiet_api_requests_per_min", RequestTally.sum(quietOps, k -> true) * 60 / quietSeconds);
      result.put("cpu_burst_s", cpuBurst);
      result.put("cpu_quiet_s", cpuQuiet);
      result.put("cpu_quiet_pct_core", 100 * cpuQuiet / quietSeconds);
      percentiles(result, "change_to_status", changeLatency);
      result.put("changes_observed", changeLatency.size());
      result.put("cpu_changes_s", cpuChanges);
      result.put("restart_ready_ms", ms(restartReady - restartAt));
      result.put("restart_converge_ms", ms(converged - restartAt));
      result.put("restart_observed", observedAt.size());
      result.put("heap_steady_mb", mb(steady[0]));
      result.put("heap_per_cluster_kb", (steady[0] - idle[0]) / 1024.0 / n);
      result.put("heap_committed_mb", mb(steady[1]));
      result.put("rss_mb", mb(steady[2]));
      result.put("threads", steady[3]);
      result.put("operator_warnings", operatorWarnings.get());
      result.put("load_end", loadAverage());

      printDetails("burst", burstOps);
      printDetails("quiet", quietOps);
      printQuietByName(n);
      if (changed > 0) {
        System.out.println("objects whose resourceVersion changed in the quiet period:");
        versionsAfter.forEach((k, v) -> {
          if (!v.equals(versionsBefore.get(k))) {
            System.out.println("  " + k);
          }
        });
      }
      if (!statusBefore.equals(statusAfter)) {
        System.out.println("status of " + name(0) + " before the quiet period: " + statusBefore);
        System.out.println("status of " + name(0) + " after the quiet period:  " + statusAfter);
      }
      print(result);
      writeCsv(out, api.equals("real") ? "operator-real-api.csv" : "operator.csv", result);
      return allReady ? 0 : 1;
    } finally {
      if (operator != null) {
        try {
          command(operator, "stop");
          operator.waitFor(20, TimeUnit.SECONDS);
        } catch (Exception e) {
          // fall through to destroy
        }
        operator.destroyForcibly();
      }
      informers.forEach(SharedIndexInformer::close);
      kubelet.shutdownNow();
      if (tally != null) {
        tally.stop();
      }
      if (client != null) {
        client.close();
      }
      if (server != null) {
        server.destroy();
      }
      if (cp != null) {
        cp.close();
      }
      for (EmbeddedDatabase db : dbs) {
        try {
          db.close();
        } catch (IOException e) {
          // best effort
        }
      }
    }
  }

  // ---- the operator process

  private Process startOperator(String master, String jvm, int slotPoll, int minRetry, int maxRetry) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    String jar = Path.of(OperatorScenario.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    cmd.addAll(Arrays.stream(jvm.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList());
    cmd.addAll(List.of(
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-Dorg.slf4j.simpleLogger.logFile=System.err",
        "-Dorg.slf4j.simpleLogger.log.io.javaoperatorsdk.operator.processing.event.ReconciliationDispatcher=debug",
        "-Dorg.slf4j.simpleLogger.log.io.javaoperatorsdk.operator.processing.event.EventProcessor=debug",
        "-cp", jar, OperatorProcess.class.getName(), master, Integer.toString(slotPoll), Integer.toString(minRetry),
        Integer.toString(maxRetry)));
    Process p = new ProcessBuilder(cmd).start();
    Thread err = new Thread(() -> readLog(p.getErrorStream()), "operator-log");
    err.setDaemon(true);
    err.start();
    Thread outReader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String l; (l = r.readLine()) != null; ) {
          replies.add(l);
        }
      } catch (IOException e) {
        // process gone
      }
    }, "operator-out");
    outReader.setDaemon(true);
    outReader.start();
    String first = replies.poll(120, TimeUnit.SECONDS);
    if (!"ready".equals(first)) {
      throw new IllegalStateException("the operator process did not start: " + first);
    }
    return p;
  }

  private void readLog(InputStream in) {
    int echoed = 0;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      for (String l; (l = r.readLine()) != null; ) {
        String ph = phase;
        Matcher m = RECONCILING.matcher(l);
        if (m.find()) {
          String name = m.group(1);
          String kind = kind(name);
          reconciles.computeIfAbsent(ph + "|" + kind, k -> new AtomicLong()).incrementAndGet();
          reconcilesByName.computeIfAbsent(ph + "|" + kind + "|" + name, k -> new AtomicLong()).incrementAndGet();
          continue;
        }
        Matcher e = RECEIVED.matcher(l);
        if (e.find()) {
          Matcher nm = Pattern.compile("name='([^']+)'").matcher(l);
          String kind = nm.find() ? kind(nm.group(1)) : "unknown";
          events.computeIfAbsent(ph + "|" + kind + "|" + e.group(1), k -> new AtomicLong()).incrementAndGet();
          continue;
        }
        if (l.contains(" DEBUG ")) {
          continue;
        }
        if (l.contains(" WARN ") || l.contains(" ERROR ")) {
          operatorWarnings.incrementAndGet();
        }
        if (echoed++ < 40) {
          System.err.println("[operator] " + l);
        }
      }
    } catch (IOException e) {
      // process gone
    }
  }

  /**
   * Sets the cluster's events limit with a JSON merge patch of the spec alone (no resourceVersion, so the operator's
   * own writes cannot make it conflict); returns the generation the change made.
   */
  private static long bumpSpec(KubernetesClient client, String name, int maxEventsPerSecond) {
    var resource = client.resources(RealtimeCluster.class).inNamespace(NS).withName(name);
    RealtimeCluster c = resource.get();
    c.getSpec().getLimits().setMaxEventsPerSecond(maxEventsPerSecond);
    return resource.patch(PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(Map.of("spec", c.getSpec())))
        .getMetadata().getGeneration();
  }


  private void awaitObserved(int n, int timeoutSeconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    while (observedAt.size() < n && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
  }

  /** User plus system CPU time of a process so far, from {@code /proc/<pid>/stat} (clock ticks of 10 ms). */
  static double cpuSeconds(Process p) {
    try {
      String stat = Files.readString(Path.of("/proc/" + p.pid() + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  private static String kind(String name) {
    return name.endsWith("-main") ? "pool" : "cluster";
  }

  private String command(Process p, String cmd) throws Exception {
    PrintStream ps = new PrintStream(p.getOutputStream(), true, StandardCharsets.UTF_8);
    ps.println(cmd);
    ps.flush();
    String reply = replies.poll(60, TimeUnit.SECONDS);
    if (reply == null) {
      throw new IllegalStateException("no answer from the operator process to " + cmd);
    }
    return reply;
  }

  /** used, committed, rss, threads. */
  private long[] heap(Process p) throws Exception {
    String[] f = command(p, "heap").split(" ");
    return new long[] {Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4])};
  }

  private long stats(Process p) throws Exception {
    return Long.parseLong(command(p, "stats").split(" ")[1]);
  }

  // ---- objects

  static String name(int i) {
    return String.format("rt%03d", i);
  }

  static String database(int i) {
    return "tenant_rt" + String.format("%03d", i);
  }

  static Secret secret(String name, Map<String, String> data) {
    return new SecretBuilder().withNewMetadata().withName(name).withNamespace(NS).endMetadata()
        .withData(RuntimeConfigModel.encode(data)).build();
  }

  static RealtimeCluster cluster(String name, String database, int port) {
    RealtimeClusterSpec spec = new RealtimeClusterSpec();
    RealtimeClusterSpec.Database d = new RealtimeClusterSpec.Database();
    d.setHost("127.0.0.1");
    d.setPort(port);
    d.setName(database);
    d.setSslMode("disable");
    RealtimeClusterSpec.SecretKeys keys = new RealtimeClusterSpec.SecretKeys();
    keys.setName(name + "-owner");
    d.setCredentialsSecret(keys);
    spec.setDatabase(d);
    RealtimeClusterSpec.Auth auth = new RealtimeClusterSpec.Auth();
    RealtimeClusterSpec.SecretKeyRef ref = new RealtimeClusterSpec.SecretKeyRef();
    ref.setName(name + "-jwt");
    auth.setJwtSecret(ref);
    spec.setAuth(auth);
    spec.getCdc().setSlot(name + "_slot");
    spec.getCdc().setPublication(name + "_pub");
    RealtimeCluster c = new RealtimeCluster();
    c.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    c.setSpec(spec);
    return c;
  }

  static SessionPool pool(String name, String cluster, int replicas) {
    SessionPoolSpec spec = new SessionPoolSpec();
    SessionPoolSpec.ClusterRef ref = new SessionPoolSpec.ClusterRef();
    ref.setName(cluster);
    spec.setClusterRef(ref);
    spec.setReplicas(replicas);
    SessionPool p = new SessionPool();
    p.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    p.setSpec(spec);
    return p;
  }

  private <T extends HasMetadata> SharedIndexInformer<T> watch(KubernetesClient client, Class<T> type, Consumer<T> onChange) {
    String kind = HasMetadata.getKind(type);
    return client.resources(type).inNamespace(NS).inform(new ResourceEventHandler<T>() {
      @Override
      public void onAdd(T obj) {
        seen.putIfAbsent(kind + "/" + obj.getMetadata().getName(), System.nanoTime());
        onChange.accept(obj);
      }

      @Override
      public void onUpdate(T oldObj, T newObj) {
        onChange.accept(newObj);
      }

      @Override
      public void onDelete(T obj, boolean deletedFinalStateUnknown) {}
    });
  }

  /** The simulated kubelet: every replica of a Deployment is ready. */
  private void markReady(KubernetesClient client, String name) {
    for (int attempt = 0; attempt < 20; attempt++) {
      try {
        Deployment d = client.apps().deployments().inNamespace(NS).withName(name).get();
        if (d == null) {
          return;
        }
        int replicas = d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas();
        d.setStatus(new DeploymentStatusBuilder().withReplicas(replicas).withReadyReplicas(replicas)
            .withAvailableReplicas(replicas).withUpdatedReplicas(replicas)
            .withObservedGeneration(d.getMetadata().getGeneration()).build());
        client.resource(d).updateStatus();
        markedReady.putIfAbsent(name, System.nanoTime());
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          System.err.println("kubelet: " + name + ": " + e.getMessage());
          return;
        }
      }
    }
  }

  private static boolean isTrue(List<Condition> conditions, String type) {
    return Conditions.find(conditions, type).map(Condition::isTrue).orElse(false);
  }

  private void describeNotReady(KubernetesClient client, int n) {
    int shown = 0;
    for (int i = 0; i < n && shown < 5; i++) {
      String name = name(i);
      if (!clusterReady.containsKey(name) || !poolReady.containsKey(name + "-main")) {
        shown++;
        RealtimeCluster rc = client.resources(RealtimeCluster.class).inNamespace(NS).withName(name).get();
        SessionPool sp = client.resources(SessionPool.class).inNamespace(NS).withName(name + "-main").get();
        System.err.println(name + ": " + (rc == null || rc.getStatus() == null ? "no status"
            : rc.getStatus().getConditions().stream().map(c -> c.getType() + "=" + c.getStatus() + "(" + c.getReason() + ": "
                + c.getMessage() + ")").collect(Collectors.joining(", "))));
        System.err.println(name + "-main: " + (sp == null || sp.getStatus() == null ? "no status"
            : sp.getStatus().getConditions().stream().map(c -> c.getType() + "=" + c.getStatus() + "(" + c.getReason() + ")")
                .collect(Collectors.joining(", "))));
      }
    }
  }

  private static String statusJson(KubernetesClient client, String name) {
    RealtimeCluster rc = client.resources(RealtimeCluster.class).inNamespace(NS).withName(name).get();
    return rc == null ? "null" : client.getKubernetesSerialization().asJson(rc.getStatus());
  }

  /** kind/name → resourceVersion of every object in the namespace the bench looks at. */
  private static Map<String, String> versions(KubernetesClient client) {
    Map<String, String> m = new TreeMap<>();
    List<Class<? extends HasMetadata>> kinds = List.of(Service.class, Secret.class, Deployment.class,
        PodDisruptionBudget.class, RealtimeCluster.class, SessionPool.class);
    for (Class<? extends HasMetadata> k : kinds) {
      for (HasMetadata o : client.resources(k).inNamespace(NS).list().getItems()) {
        m.put(HasMetadata.getKind(k) + "/" + o.getMetadata().getName(), o.getMetadata().getResourceVersion());
      }
    }
    return m;
  }

  // ---- reporting

  private static long count(Map<String, AtomicLong> m, String key) {
    AtomicLong v = m.get(key);
    return v == null ? 0 : v.get();
  }

  private void printDetails(String ph, Map<String, Long> requests) {
    System.out.println();
    System.out.println("operator API requests in phase " + ph + " (the API server's request or audit log):");
    requests.forEach((k, v) -> System.out.printf("  %-45s %8d%n", k, v));
  }

  private void printQuietByName(int n) {
    Map<String, Long> histogram = new TreeMap<>();
    reconcilesByName.forEach((k, v) -> {
      if (k.startsWith("quiet|")) {
        String kind = k.split("\\|")[1];
        histogram.merge(kind + " x" + v.get(), 1L, Long::sum);
      }
    });
    System.out.println();
    System.out.println("quiet period: resources by number of reconciles (e.g. 'cluster x2 = 100' means 100 clusters "
        + "reconciled twice); resources not listed were not reconciled:");
    histogram.forEach((k, v) -> System.out.printf("  %-20s %6d%n", k, v));
    System.out.println("quiet period: events received by JOSDK (ResourceEvent: the primary changed; Event: a "
        + "secondary resource or a timer):");
    events.forEach((k, v) -> {
      if (k.startsWith("quiet|")) {
        System.out.printf("  %-30s %6d%n", k.substring(6), v.get());
      }
    });
  }

  private static void percentiles(Map<String, Object> r, String prefix, List<Long> nanos) {
    List<Long> s = nanos.stream().sorted().toList();
    r.put(prefix + "_n", s.size());
    r.put(prefix + "_p50_ms", s.isEmpty() ? -1 : ms(s.get(index(s.size(), 50))));
    r.put(prefix + "_p95_ms", s.isEmpty() ? -1 : ms(s.get(index(s.size(), 95))));
    r.put(prefix + "_p99_ms", s.isEmpty() ? -1 : ms(s.get(index(s.size(), 99))));
    r.put(prefix + "_max_ms", s.isEmpty() ? -1 : ms(s.get(s.size() - 1)));
  }

  private static int index(int size, double pct) {
    return Math.min(size - 1, Math.max(0, (int) Math.ceil(pct / 100.0 * size) - 1));
  }

  private static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }

  private static double mb(long bytes) {
    return bytes / (1024.0 * 1024.0);
  }

  private static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return "?";
    }
  }

  private static String format(Object v) {
    if (v instanceof Double d) {
      return Math.abs(d) >= 100 ? String.format(Locale.ROOT, "%.0f", d) : String.format(Locale.ROOT, "%.2f", d);
    }
    return String.valueOf(v);
  }

  private static void print(Map<String, Object> r) {
    int w = r.keySet().stream().mapToInt(String::length).max().orElse(10);
    int vw = Math.max(22, r.values().stream().mapToInt(v -> format(v).length()).max().orElse(10));
    String line = "+" + "-".repeat(w + 2) + "+" + "-".repeat(vw + 2) + "+";
    System.out.println();
    System.out.println("scenario: operator");
    System.out.println(line);
    r.forEach((k, v) -> System.out.printf("| %-" + w + "s | %" + vw + "s |%n", k, format(v)));
    System.out.println(line);
  }

  private static void writeCsv(Path dir, String name, Map<String, Object> r) throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve(name);
    String header = String.join(",", r.keySet());
    String row = r.values().stream().map(OperatorScenario::format)
        .map(v -> v.contains(",") || v.contains(" ") ? "\"" + v + "\"" : v).collect(Collectors.joining(","));
    boolean fresh = !Files.exists(file) || !Files.readAllLines(file).stream().findFirst().orElse("").equals(header);
    if (fresh && Files.exists(file)) {
      file = dir.resolve(name.replace(".csv", "-" + System.currentTimeMillis() + ".csv"));
    }
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND))) {
      if (fresh) {
        w.println(header);
      }
      w.println(row);
    }
    System.out.println("CSV: " + file);
  }

  private static void log(String fmt, Object... args) {
    System.out.printf("[operator bench] " + fmt + "%n", args);
  }
}
