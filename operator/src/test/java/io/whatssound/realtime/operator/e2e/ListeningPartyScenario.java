package io.whatssound.realtime.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whatssound.realtime.operator.kube.Cli;
import io.whatssound.realtime.operator.metrics.ConnectionMeter;
import io.whatssound.realtime.operator.metrics.OperatorMetrics;
import io.whatssound.realtime.operator.model.Names;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.opentest4j.TestAbortedException;

/**
 * docs/kubernetes.md followed as a platform engineer would, on a real cluster, one step per test in order: the chart
 * installed with helm, examples/listening-party applied with kubectl (PostgreSQL from its postgres.yaml), the example's
 * supabase-js client ({@code party.mjs}) connecting from this host through the tenant's Service, a scale-out, a
 * rolling update under a publisher's load (what it lost is counted and written to the report), a scan of every log
 * (the operator's at DEBUG), the tenants' objects and the events for any credential, and the tenant's deletion with
 * {@code reclaimPolicy: Delete}. A subclass names the cluster ({@link #open()}): the single-node
 * cluster of e2e/cluster.sh, or K3s in Docker.
 *
 * <p>The only changes to the example files: images point at the ones under test ({@link ScenarioCluster#chartImages},
 * {@link ScenarioCluster#replaceImage}), and the SessionPool's CPU request is {@value #POOL_CPU_REQUEST} so that three
 * pods fit on a two-core node. A step that fails skips the ones after it; the report is in
 * {@code target/e2e-scenario/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
public abstract class ListeningPartyScenario {
  static final String RELEASE = "realtime";
  static final String OPERATOR_NS = "realtime-system";
  static final String NS = "listening-party";
  static final String CLUSTER = "listening-party";
  static final String POOL = "listening-party-main";
  static final String PARTY = "00000000-0000-0000-0000-000000000042";
  static final String POOL_CPU_REQUEST = "250m";
  static final String RUNTIME_PODS = "realtime.whatssound.io/cluster=" + CLUSTER + ",app.kubernetes.io/component=runtime";
  static final String POOLER_PODS = "realtime.whatssound.io/cluster=" + CLUSTER + ",app.kubernetes.io/component=pooler";
  /** The publisher's rate during the rolling update: 20 messages a second. */
  static final int PUBLISH_EVERY_MS = 50;
  /** Where the pods' logs and the roll's client events are written. */
  static final Path LOGS = Path.of("target/e2e-scenario/logs");

  private ScenarioCluster cluster;
  private String unavailable;
  private String failedStep;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final Map<String, String> report = new LinkedHashMap<>();
  private String anonKey;
  private PartyClient anna;

  /** The cluster to run on; a {@link TestAbortedException} (an assumption) skips every step with its reason. */
  protected abstract ScenarioCluster open();

  private ScenarioCluster cluster(String step) {
    if (unavailable != null) {
      throw new TestAbortedException(unavailable);
    }
    if (cluster == null) {
      try {
        cluster = open();
      } catch (TestAbortedException e) {
        unavailable = e.getMessage();
        throw e;
      }
      report.put("cluster", cluster.description());
    }
    assumeTrue(failedStep == null, "skipped: step '" + failedStep + "' failed");
    report.put("step", step);
    return cluster;
  }

  /** Runs a step; a failure carries the cluster's state and skips the later steps. */
  private void step(String name, ThrowingRunnable body) throws Exception {
    ScenarioCluster c = cluster(name);
    long start = System.nanoTime();
    try {
      body.run(c);
    } catch (Throwable t) {
      failedStep = name;
      throw new AssertionError(name + " failed: " + t.getMessage() + "\n" + diagnostics(c), t);
    } finally {
      report.put(name + " seconds", String.valueOf((System.nanoTime() - start) / 1_000_000_000));
      writeReport();
    }
  }

  interface ThrowingRunnable {
    void run(ScenarioCluster c) throws Exception;
  }

  @Test
  @Order(1)
  void helmInstallsTheOperator() throws Exception {
    step("1 helm install", c -> {
      if (Files.isDirectory(LOGS)) {
        try (var old = Files.list(LOGS)) {
          for (Path f : old.toList()) {
            Files.delete(f);
          }
        }
      }
      List<String> args = new ArrayList<>(List.of("install", RELEASE, Examples.repoRoot().resolve("helm/realtime-operator")
          .toString(), "-n", OPERATOR_NS, "--create-namespace", "--wait", "--timeout", "5m"));
      args.addAll(c.chartImages());
      // at DEBUG, so that step 6 scans the most the operator ever writes for credentials
      args.addAll(List.of("--set", "logLevel=debug"));
      c.helm(args.toArray(String[]::new)).orFail();
      c.kubectl("-n", OPERATOR_NS, "rollout", "status", "deployment/" + RELEASE + "-realtime-operator", "--timeout=3m")
          .orFail();
      c.kubectl("-n", OPERATOR_NS, "wait", "pod", "-l", "app.kubernetes.io/instance=" + RELEASE, "--for=condition=Ready",
          "--timeout=2m").orFail();
    });
  }

  @Test
  @Order(2)
  void theExampleTenantBecomesReady() throws Exception {
    step("2 apply the example", c -> {
      c.kubectl("create", "namespace", NS).orFail();
      apply(c, Examples.read("secrets.yaml"));
      apply(c, withImages(c, Examples.documents("postgres.yaml")));
      c.kubectl("-n", NS, "rollout", "status", "statefulset/postgres", "--timeout=5m").orFail();
      apply(c, Examples.read("realtimecluster.yaml"));
      List<ObjectNode> pool = Examples.documents("sessionpool.yaml");
      ((ObjectNode) pool.get(0).at("/spec/resources/requests")).put("cpu", POOL_CPU_REQUEST);
      apply(c, yaml(pool));
      c.kubectl("-n", NS, "wait", "rtc/" + CLUSTER, "--for=condition=DatabaseReady", "--timeout=5m").orFail();

      try (ScenarioCluster.Address pg = c.service(NS, "postgres", 5432); Connection db = owner(pg);
          Statement st = db.createStatement()) {
        st.execute(Examples.read("schema.sql"));
        st.execute("INSERT INTO public.sessions (id, host_id, title) VALUES ('" + PARTY + "', gen_random_uuid(), 'e2e')");
        st.execute("INSERT INTO public.song_queue (session_id, added_by, title, position) VALUES ('" + PARTY
            + "', gen_random_uuid(), 'Song A', 1)");
      }
      c.kubectl("-n", NS, "wait", "rtc/" + CLUSTER, "--for=condition=Ready", "--timeout=10m").orFail();
      c.kubectl("-n", NS, "wait", "spool/" + POOL, "--for=condition=Ready", "--timeout=5m").orFail();
      assertEquals(2, readyPods(c, POOLER_PODS).size(), "pooler pods ready");
      assertEquals(2, readyPods(c, RUNTIME_PODS).size(), "runtime pods ready");
      String endpoint = c.kubectl("-n", NS, "get", "rtc", CLUSTER, "-o", "jsonpath={.status.endpoints.websocket}")
          .orFail().out();
      assertEquals("ws://" + CLUSTER + "." + NS + ".svc:4000/realtime/v1/websocket", endpoint);
    });
  }

  @Test
  @Order(3)
  void clientsOnTwoPodsSeeBroadcastPresenceAndChanges() throws Exception {
    step("3 clients on two pods", c -> {
      anonKey = anonKey(jwtSecret(c));
      Placed a = connect(c, "anna", Map.of(), Set.of());
      anna = a.client();
      Placed b = connect(c, "ben", Map.of("SAY", "hello from ben"), Set.of(a.pod()));
      report.put("clients", "anna on " + a.pod() + ", ben on " + b.pod());

      // ben's chat reaches anna on the other pod; both see both listeners
      JsonNode chat = anna.awaitEvent("chat", Duration.ofSeconds(30), e -> "ben".equals(e.path("from").asText()));
      assertEquals("hello from ben", chat.path("text").asText());
      for (PartyClient p : List.of(anna, b.client())) {
        p.awaitEvent("listeners", Duration.ofSeconds(30), e -> e.path("count").asInt() == 2);
      }
      // a vote inserted in the database reaches both through Postgres Changes
      for (PartyClient p : List.of(anna, b.client())) {
        p.awaitEvent("votes_stream", Duration.ofSeconds(60), e -> "ok".equals(e.path("status").asText()));
      }
      try (ScenarioCluster.Address pg = c.service(NS, "postgres", 5432); Connection db = owner(pg);
          Statement st = db.createStatement()) {
        st.execute("INSERT INTO public.votes (session_id, song_id, user_id, value) SELECT session_id, id, "
            + "gen_random_uuid(), 1 FROM public.song_queue WHERE session_id = '" + PARTY + "'");
      }
      for (PartyClient p : List.of(anna, b.client())) {
        JsonNode vote = p.awaitEvent("vote", Duration.ofSeconds(60), e -> "INSERT".equals(e.path("type").asText()));
        assertEquals(PARTY, vote.at("/vote/session_id").asText(), vote.toString());
      }
    });
  }

  @Test
  @Order(4)
  void aScaledOutPodJoinsTheTenantsCluster() throws Exception {
    step("4 scale to 3", c -> {
      Set<String> before = readyPods(c, RUNTIME_PODS);
      c.kubectl("-n", NS, "scale", "spool/" + POOL, "--replicas=3").orFail();
      await("3 runtime pods ready", Duration.ofMinutes(5), () -> readyPods(c, RUNTIME_PODS).size() == 3);
      c.kubectl("-n", NS, "wait", "spool/" + POOL, "--for=jsonpath={.status.readyReplicas}=3", "--timeout=2m").orFail();
      Set<String> added = new TreeSet<>(readyPods(c, RUNTIME_PODS));
      added.removeAll(before);
      assertEquals(1, added.size(), "one new pod: " + added);
      String newPod = added.iterator().next();
      Set<String> old = new HashSet<>(readyPods(c, RUNTIME_PODS));
      old.remove(newPod);
      // a client placed on the new pod: its chat reaches anna on an old one, and it sees her presence
      Placed carl = connect(c, "carl", Map.of("SAY", "hello from the new pod"), old);
      assertEquals(newPod, carl.pod());
      report.put("scaled", "carl on new pod " + newPod);
      anna.awaitEvent("chat", Duration.ofSeconds(30), e -> "carl".equals(e.path("from").asText()));
      carl.client().awaitEvent("listeners", Duration.ofSeconds(30), e -> e.path("count").asInt() >= 2
          && e.path("listeners").toString().contains("anna"));
    });
  }

  @Test
  @Order(5)
  void aRollingUpdateUnderLoadLosesLittleAndClientsComeBack() throws Exception {
    step("5 rolling update under load", c -> {
      Set<String> before = readyPods(c, RUNTIME_PODS);
      ScenarioCluster.Address svc = c.service(NS, CLUSTER, 4000);
      closeables.add(svc);
      PartyClient receiver = PartyClient.start("receiver", svc.http(), anonKey, Map.of());
      closeables.add(receiver);
      receiver.awaitSubscribed(Duration.ofSeconds(60));
      PartyClient publisher = PartyClient.start("publisher", svc.http(), anonKey,
          Map.of("CHAT_EVERY_MS", String.valueOf(PUBLISH_EVERY_MS), "CHAT_COUNT", "100000"));
      closeables.add(publisher);
      publisher.awaitSubscribed(Duration.ofSeconds(60));
      receiver.awaitEvent("chat", Duration.ofSeconds(30), e -> "publisher".equals(e.path("from").asText()));

      // the replaced pods' logs are gone with them: follow them from now on (stopped at the latest with the scenario)
      List<Process> following = followLogs(c, before);
      following.forEach(p -> closeables.add(p::destroy));
      // a spec change of the pool's pod template: the operator rolls every pod
      long rollStart = System.nanoTime();
      c.kubectl("-n", NS, "patch", "spool/" + POOL, "--type=merge", "-p", "{\"spec\":{\"heapPercent\":65}}").orFail();
      await("every runtime pod replaced and ready", Duration.ofMinutes(8), () -> {
        Set<String> now = readyPods(c, RUNTIME_PODS);
        return now.size() == 3 && now.stream().noneMatch(before::contains) && allRuntimePodsReady(c);
      });
      long rollSeconds = (System.nanoTime() - rollStart) / 1_000_000_000;
      // the clients are back on new pods: both subscribed after the roll and messages flow again
      int sentAtRollEnd = publisher.events("sent").size();
      receiver.awaitEvent("chat", Duration.ofSeconds(60), e -> "publisher".equals(e.path("from").asText())
          && e.path("seq").asInt() > sentAtRollEnd + 20);
      publisher.close();
      pause(3000);

      List<JsonNode> sent = publisher.events("sent");
      Set<Integer> acknowledged = new TreeSet<>();
      Map<String, Integer> results = new LinkedHashMap<>();
      for (JsonNode s : sent) {
        String r = s.path("result").asText();
        results.merge(r, 1, Integer::sum);
        if ("ok".equals(r)) {
          acknowledged.add(s.path("seq").asInt());
        }
      }
      // counted over the messages whose send completed: the receiver may hold one more that was in flight at the end
      int lastSeq = sent.stream().mapToInt(s -> s.path("seq").asInt()).max().orElse(-1);
      Set<Integer> received = new TreeSet<>();
      int duplicates = 0;
      for (JsonNode m : receiver.events("chat")) {
        int seq = m.path("seq").asInt();
        if ("publisher".equals(m.path("from").asText()) && seq <= lastSeq && !received.add(seq)) {
          duplicates++;
        }
      }
      int firstReceived = received.stream().findFirst().orElse(0);
      Set<Integer> lost = new TreeSet<>();
      for (int seq = firstReceived; seq <= lastSeq; seq++) {
        if (!received.contains(seq)) {
          lost.add(seq);
        }
      }
      Set<Integer> lostAcknowledged = new TreeSet<>(lost);
      lostAcknowledged.retainAll(acknowledged);
      int reconnects = (int) receiver.events("status").stream()
          .filter(e -> "SUBSCRIBED".equals(e.path("status").asText())).count() - 1;
      int total = lastSeq - firstReceived + 1;
      report.put("roll seconds", String.valueOf(rollSeconds));
      report.put("roll published", total + " messages at " + (1000 / PUBLISH_EVERY_MS) + "/s, send results " + results);
      report.put("roll received", received.size() + " (" + duplicates + " duplicates)");
      report.put("roll lost", lost.size() + " (" + String.format("%.2f", 100.0 * lost.size() / Math.max(1, total))
          + " %), of them acknowledged by the server: " + lostAcknowledged.size());
      report.put("roll lost ranges", ranges(lost));
      report.put("roll receiver resubscribed", String.valueOf(reconnects));
      following.forEach(Process::destroy);
      Path logs = Files.createDirectories(LOGS);
      for (PartyClient p : List.of(publisher, receiver)) {
        Files.write(logs.resolve("roll-" + p.listener + ".jsonl"), p.events().stream().map(JsonNode::toString).toList());
      }
      // each replaced pod's drain, as the operator read it from the pod's last status (the runtime's termination message)
      await("the operator counted the drains of the 3 replaced pods", Duration.ofSeconds(60),
          () -> drainsCounted(c).values().stream().mapToDouble(Double::doubleValue).sum() >= 3);
      Map<String, Double> drains = drainsCounted(c);
      report.put("roll drains (operator)", drains.toString());
      System.out.println("rolling update: " + report);
      assertEquals(Double.valueOf(drains.values().stream().mapToDouble(Double::doubleValue).sum()), drains.get("ok"),
          "every drain of the roll ended within its window: " + drains);
      assertTrue(reconnects >= 1, "the receiver was on a replaced pod and must have resubscribed by itself");
      assertTrue(received.size() > total / 2, "the receiver got most messages: " + received.size() + " of " + total);
      saveLogs(c);
      // standby pods wait while another pod holds the slot instead of asking for it and being refused
      String pgLog = c.kubectl("-n", NS, "logs", "postgres-0").out();
      report.put("slot refusals in the database log", String.valueOf(pgLog.lines()
          .filter(l -> l.contains("replication slot") && l.contains("is active for PID")).count()));
      for (String ns : List.of(OPERATOR_NS, NS)) {
        for (JsonNode pod : podsIn(c, ns)) {
          for (JsonNode container : pod.at("/status/containerStatuses")) {
            assertEquals(0, container.path("restartCount").asInt(), "restarts of " + pod.at("/metadata/name").asText()
                + "/" + container.path("name").asText() + ": " + container.path("lastState"));
          }
        }
      }
      // no one edited an owned object: the kubelet's, the controllers' and the API server's writes are not edits
      String restored = c.kubectl("-n", NS, "get", "events", "--field-selector", "reason=Restored", "-o",
          "jsonpath={.items[*].message}").orFail().out().trim();
      assertEquals("", restored, "Restored Events without any hand edit");
    });
  }

  @Test
  @Order(6)
  void noSecretReachesALogAStatusOrAnEvent() throws Exception {
    step("6 secrets scan", c -> {
      // the logs step 5 saved when it ended, the replaced pods' among them
      // every credential of the tenant's namespace, the operator's own and the client's key
      Map<String, String> secrets = new TreeMap<>();
      for (String ns : List.of(NS, OPERATOR_NS)) {
        for (JsonNode s : json(c.kubectl("-n", ns, "get", "secrets", "-o", "json").orFail().out()).path("items")) {
          String name = ns + "/" + s.at("/metadata/name").asText();
          s.path("data").fields().forEachRemaining(e -> {
            String value = new String(Base64.getDecoder().decode(e.getValue().asText()), StandardCharsets.UTF_8);
            if (e.getKey().matches("(?i).*(password|secret|key|token).*") && value.length() >= 8) {
              secrets.put(name + ":" + e.getKey(), value);
            }
          });
        }
      }
      secrets.put("the clients' anon key", anonKey);
      Map<String, String> places = new TreeMap<>();
      try (var files = Files.list(LOGS)) {
        for (Path f : files.toList()) {
          places.put("log " + f.getFileName(), Files.readString(f));
        }
      }
      places.put("the tenants' objects", c.kubectl("get", "realtimeclusters,sessionpools", "-A", "-o", "json").orFail()
          .out());
      places.put("events", c.kubectl("get", "events", "-A", "-o", "json").orFail().out());
      List<String> leaks = new ArrayList<>();
      secrets.forEach((name, value) -> places.forEach((where, text) -> {
        if (text.contains(value)) {
          leaks.add(name + " in " + where);
        }
      }));
      report.put("secrets scan", secrets.size() + " credentials over " + places.size()
          + " logs (operator at DEBUG), object lists and events: " + leaks.size() + " found");
      assertEquals(List.of(), leaks, "credentials found where they must never be");
    });
  }

  @Test
  @Order(7)
  void deletingTheTenantWithReclaimDeleteDropsWhatItMade() throws Exception {
    step("7 delete with reclaimPolicy Delete", c -> {
      String role = c.kubectl("-n", NS, "get", "rtc", CLUSTER, "-o", "jsonpath={.status.runtimeRole}").orFail().out();
      String slot = c.kubectl("-n", NS, "get", "rtc", CLUSTER, "-o", "jsonpath={.status.replication.slot}").orFail().out();
      assertTrue(!role.isBlank() && !slot.isBlank(), "status names the role and the slot: " + role + " " + slot);
      try (ScenarioCluster.Address pg = c.service(NS, "postgres", 5432); Connection db = owner(pg)) {
        assertEquals(1, count(db, "SELECT count(*) FROM pg_roles WHERE rolname = '" + role + "'"));
        assertEquals(1, count(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot + "'"));
      }
      c.kubectl("-n", NS, "patch", "rtc/" + CLUSTER, "--type=merge", "-p", "{\"spec\":{\"reclaimPolicy\":\"Delete\"}}")
          .orFail();
      c.kubectl("-n", NS, "delete", "rtc/" + CLUSTER, "--timeout=8m").orFail();
      await("every object the operator made is gone", Duration.ofMinutes(3), () -> c.kubectl("-n", NS, "get",
          "deployments,services,secrets,poddisruptionbudgets,networkpolicies,sessionpools,pods",
          "-l", "app.kubernetes.io/managed-by=realtime-operator", "-o", "name").orFail().out().isBlank());
      try (ScenarioCluster.Address pg = c.service(NS, "postgres", 5432); Connection db = owner(pg)) {
        assertEquals(0, count(db, "SELECT count(*) FROM pg_roles WHERE rolname = '" + role + "'"), "runtime role");
        assertEquals(0, count(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot + "'"), "slot");
        assertEquals(1, count(db, "SELECT count(*) FROM public.votes"), "the app's tables stay");
      }
      c.helm("uninstall", RELEASE, "-n", OPERATOR_NS, "--wait", "--timeout", "3m").orFail();
      await("the operator's pods are gone", Duration.ofMinutes(2), () -> c.kubectl("-n", OPERATOR_NS, "get", "pods",
          "-o", "name").orFail().out().isBlank());
    });
  }

  @AfterAll
  void closeAll() {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      AutoCloseable a = closeables.get(i);
      try {
        a.close();
      } catch (Exception e) {
        // best effort
      }
    }
    if (anna != null) {
      anna.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  /** Consecutive numbers as ranges: [3-5, 9]. */
  static String ranges(Set<Integer> sorted) {
    List<String> out = new ArrayList<>();
    Integer start = null;
    Integer prev = null;
    for (int n : sorted) {
      if (prev != null && n == prev + 1) {
        prev = n;
        continue;
      }
      if (start != null) {
        out.add(start.equals(prev) ? String.valueOf(start) : start + "-" + prev);
      }
      start = n;
      prev = n;
    }
    if (start != null) {
      out.add(start.equals(prev) ? String.valueOf(start) : start + "-" + prev);
    }
    return out.toString();
  }

  /** A client and the runtime pod that serves it. */
  record Placed(PartyClient client, String pod) {}

  /**
   * A client connected through the tenant's Service to a pod not in {@code avoid}: when the Service sends it to one of
   * those, it leaves and tries again. The pod serving it is the one whose connections gauge rose. Where Services do not
   * spread (a port-forward), it connects to such a pod directly.
   */
  private Placed connect(ScenarioCluster c, String listener, Map<String, String> extra, Set<String> avoid)
      throws Exception {
    for (int attempt = 0; attempt < 12; attempt++) {
      Map<String, Double> before = gauges(c);
      PartyClient client;
      ScenarioCluster.Address address;
      if (c.servicesSpread()) {
        address = c.service(NS, CLUSTER, 4000);
      } else {
        String target = before.keySet().stream().filter(p -> !avoid.contains(p)).findFirst()
            .orElseThrow(() -> new AssertionError("no runtime pod outside " + avoid));
        address = c.pod(NS, target, 4000);
      }
      closeables.add(address);
      client = PartyClient.start(listener, address.http(), anonKey, extra);
      client.awaitSubscribed(Duration.ofSeconds(60));
      Map<String, Double> after = gauges(c);
      String pod = after.entrySet().stream().filter(e -> e.getValue() > before.getOrDefault(e.getKey(), 0.0))
          .map(Map.Entry::getKey).findFirst().orElse(null);
      if (pod != null && !avoid.contains(pod)) {
        closeables.add(client);
        return new Placed(client, pod);
      }
      client.close();
      await("the connection of " + listener + " closed", Duration.ofSeconds(30), () -> gauges(c).equals(before));
    }
    throw new AssertionError("no connection of " + listener + " reached a pod outside " + avoid + " in 12 tries");
  }

  /** The operator's {@code realtime_operator_pool_drains_total} of the example's pool, by outcome. */
  private static Map<String, Double> drainsCounted(ScenarioCluster c) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    try (ScenarioCluster.Address a = c.service(OPERATOR_NS, RELEASE + "-realtime-operator-metrics", 8080)) {
      String body = http.send(HttpRequest.newBuilder(URI.create(a.http() + "/metrics")).timeout(Duration.ofSeconds(5))
          .build(), HttpResponse.BodyHandlers.ofString()).body();
      Map<String, Double> out = new TreeMap<>();
      for (String line : body.split("\n")) {
        if (line.startsWith(OperatorMetrics.POOL_DRAINS + "_total{") && line.contains("pool=\"" + POOL + "\"")) {
          String outcome = line.replaceAll(".*outcome=\"([^\"]*)\".*", "$1");
          out.merge(outcome, Double.parseDouble(line.substring(line.lastIndexOf('}') + 1).trim().split("\\s+")[0]),
              Double::sum);
        }
      }
      return out;
    } catch (Exception e) {
      throw new AssertionError("cannot read the operator's /metrics: " + e, e);
    }
  }

  /** Each ready runtime pod's realtime_connections gauge. */
  private Map<String, Double> gauges(ScenarioCluster c) {
    Map<String, Double> out = new LinkedHashMap<>();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    for (String pod : readyPods(c, RUNTIME_PODS)) {
      try (ScenarioCluster.Address a = c.pod(NS, pod, Names.METRICS_PORT)) {
        String body = http.send(HttpRequest.newBuilder(URI.create(a.http() + "/metrics")).timeout(Duration.ofSeconds(5))
            .build(), HttpResponse.BodyHandlers.ofString()).body();
        out.put(pod, ConnectionMeter.gauge(body, ConnectionMeter.GAUGE).orElse(0));
      } catch (Exception e) {
        throw new AssertionError("cannot read /metrics of " + pod + ": " + e, e);
      }
    }
    return out;
  }

  /** The names of the pods of {@code selector} that are Ready and not terminating. */
  private static Set<String> readyPods(ScenarioCluster c, String selector) {
    Set<String> ready = new TreeSet<>();
    for (JsonNode pod : pods(c, selector)) {
      boolean isReady = false;
      for (JsonNode cond : pod.at("/status/conditions")) {
        isReady |= "Ready".equals(cond.path("type").asText()) && "True".equals(cond.path("status").asText());
      }
      if (isReady && pod.at("/metadata/deletionTimestamp").isMissingNode()) {
        ready.add(pod.at("/metadata/name").asText());
      }
    }
    return ready;
  }

  private static JsonNode pods(ScenarioCluster c, String selector) {
    return json(c.kubectl("-n", NS, "get", "pods", "-l", selector, "-o", "json").orFail().out()).path("items");
  }

  private static JsonNode podsIn(ScenarioCluster c, String namespace) {
    return json(c.kubectl("-n", namespace, "get", "pods", "-o", "json").orFail().out()).path("items");
  }

  private static JsonNode json(String text) {
    try {
      return Examples.YAML.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every container's log of both namespaces, into the report folder (the pods go with the tenant's deletion). */
  private static void saveLogs(ScenarioCluster c) throws IOException {
    Path dir = Files.createDirectories(LOGS);
    for (String ns : List.of(OPERATOR_NS, NS)) {
      for (JsonNode pod : podsIn(c, ns)) {
        String name = pod.at("/metadata/name").asText();
        Cli.Result r = c.kubectl("-n", ns, "logs", name, "--all-containers", "--timestamps");
        Files.writeString(dir.resolve(ns + "_" + name + ".log"), r.out() + r.err());
      }
    }
  }

  /** {@code kubectl logs -f} of each runtime pod into the report folder, until the pod is gone or the process stopped. */
  private static List<Process> followLogs(ScenarioCluster c, Set<String> pods) throws IOException {
    Path dir = Files.createDirectories(LOGS);
    List<Process> followers = new ArrayList<>();
    for (String pod : pods) {
      ProcessBuilder pb = new ProcessBuilder(c.tools().resolve("kubectl").toString(), "-n", NS, "logs", "-f",
          "--timestamps", pod).redirectErrorStream(true).redirectOutput(dir.resolve("roll-" + pod + ".log").toFile());
      pb.environment().put("KUBECONFIG", c.kubeconfig().toString());
      followers.add(pb.start());
    }
    return followers;
  }

  private static boolean allRuntimePodsReady(ScenarioCluster c) {
    return pods(c, RUNTIME_PODS).size() == readyPods(c, RUNTIME_PODS).size();
  }

  /** kubectl apply -f of a manifest's text, in the tenant's namespace. */
  private static void apply(ScenarioCluster c, String manifest) throws IOException {
    Path f = Files.createTempFile("scenario", ".yaml");
    try {
      Files.writeString(f, manifest);
      c.kubectl("-n", NS, "apply", "-f", f.toString()).orFail();
    } finally {
      Files.deleteIfExists(f);
    }
  }

  private static String withImages(ScenarioCluster c, List<ObjectNode> docs) {
    for (ObjectNode d : docs) {
      JsonNode containers = d.at("/spec/template/spec/containers");
      if (containers instanceof ArrayNode list) {
        for (JsonNode container : list) {
          String[] replaced = c.replaceImage(container.path("image").asText());
          if (replaced != null) {
            ((ObjectNode) container).put("image", replaced[0]).put("imagePullPolicy", replaced[1]);
          }
        }
      }
    }
    return yaml(docs);
  }

  private static String yaml(List<ObjectNode> docs) {
    StringBuilder out = new StringBuilder();
    for (ObjectNode d : docs) {
      try {
        out.append(Examples.YAML.writeValueAsString(d));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out.toString();
  }

  private static String jwtSecret(ScenarioCluster c) {
    String b64 = c.kubectl("-n", NS, "get", "secret", "listening-party-jwt", "-o", "jsonpath={.data.jwt-secret}")
        .orFail().out();
    return new String(Base64.getDecoder().decode(b64.trim()), StandardCharsets.UTF_8);
  }

  /** An anon key as client/keys.mjs makes it (HS256, role anon, an hour). */
  static String anonKey(String secret) throws Exception {
    long now = System.currentTimeMillis() / 1000;
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String unsigned = b64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8)) + "."
        + b64.encodeToString(new ObjectMapper().writeValueAsBytes(Map.of("iss", "supabase",
            "role", "anon", "iat", now, "exp", now + 3600)));
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return unsigned + "." + b64.encodeToString(mac.doFinal(unsigned.getBytes(StandardCharsets.UTF_8)));
  }

  private static Connection owner(ScenarioCluster.Address pg) throws SQLException {
    JsonNode s = Examples.secret("listening-party-db-owner");
    return DriverManager.getConnection("jdbc:postgresql://" + pg.host() + ":" + pg.port() + "/listening_party",
        s.at("/stringData/username").asText(), s.at("/stringData/password").asText());
  }

  private static int count(Connection db, String sql) throws SQLException {
    try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static void await(String what, Duration timeout, BooleanSupplier done) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      try {
        if (done.getAsBoolean()) {
          return;
        }
      } catch (RuntimeException | AssertionError e) {
        last = " (last error: " + e.getMessage() + ")";
      }
      pause(1000);
    }
    throw new AssertionError("timed out after " + timeout + " waiting for " + what + last);
  }

  private static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted");
    }
  }

  private String diagnostics(ScenarioCluster c) {
    StringBuilder out = new StringBuilder();
    for (String[] args : List.of(
        new String[] {"get", "nodes,pods", "-A", "-o", "wide"},
        new String[] {"-n", NS, "get", "rtc,spool,deployments,services,pvc", "-o", "wide"},
        new String[] {"-n", NS, "describe", "rtc"},
        new String[] {"-n", NS, "describe", "spool"},
        new String[] {"get", "events", "-A", "--sort-by=.lastTimestamp"},
        new String[] {"-n", OPERATOR_NS, "logs", "-l", "app.kubernetes.io/instance=" + RELEASE, "--tail=80"},
        new String[] {"-n", NS, "logs", "-l", RUNTIME_PODS, "--tail=30", "--prefix"})) {
      Cli.Result r = c.kubectl(args);
      out.append("$ kubectl ").append(String.join(" ", Arrays.asList(args))).append('\n').append(r.out()).append(r.err());
    }
    return out.toString();
  }

  private void writeReport() {
    try {
      Path dir = Path.of("target/e2e-scenario");
      Files.createDirectories(dir);
      StringBuilder out = new StringBuilder();
      report.forEach((k, v) -> out.append(k).append(": ").append(v).append('\n'));
      Files.writeString(dir.resolve(getClass().getSimpleName() + ".txt"), out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
