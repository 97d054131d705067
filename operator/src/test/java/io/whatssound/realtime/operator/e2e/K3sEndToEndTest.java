package io.whatssound.realtime.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.Release;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.LocalPortForward;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.whatssound.realtime.operator.api.Condition;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.SessionPool;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * The path a platform engineer follows in docs/kubernetes.md, on a real cluster: K3s in Docker (Testcontainers),
 * the chart {@code helm/realtime-operator} installed with helm-java, a PostgreSQL 17 with {@code wal_level=logical}
 * in the cluster, {@code examples/listening-party/} applied, {@code schema.sql} run once {@code DatabaseReady}, both
 * resources {@code Ready}, then two WebSocket clients (the JDK's, speaking the Supabase Realtime protocol vsn 1.0.0)
 * through a port-forward to the Service {@code listening-party}: a broadcast goes from one to the other and an
 * inserted vote arrives as Postgres Changes.
 *
 * <p>Skipped (JUnit assumptions) where Docker is not available, and where the images to test are not named.
 * The images must exist where K3s can get them before the test starts, in one of two ways:
 *
 * <ul>
 *   <li>a registry the K3s container can pull from (pushed with {@code -Pimage}, see docs/kubernetes.md "Images"):
 *       <pre>
 * ./mvnw -B -Pimage package -DskipTests -pl realtime-postgres,realtime-runtime,operator -Dimage.registry=REGISTRY
 * ./mvnw -B verify -pl realtime-postgres,operator -DskipNodeTests -Dtest=K3sEndToEndTest \
 *   -Dk3s.operatorImage=REGISTRY/realtime-operator:0.1.0-SNAPSHOT -Dk3s.runtimeImage=REGISTRY/realtime-runtime:0.1.0-SNAPSHOT
 *       </pre>
 *   <li>image tarballs K3s imports when it starts (no registry): {@code -Dk3s.imageTars=a.tar,b.tar}, e.g. the
 *       {@code target/jib-image.tar} files of Jib's {@code buildTar} goal (renamed, both are called the same) or
 *       {@code docker save} output; {@code k3s.operatorImage}/{@code k3s.runtimeImage} are then the names inside
 *       them. The chart's and the SessionPool's pull policy is {@code IfNotPresent}, so imported images are used
 *       as they are; do not use the tag {@code latest}.
 * </ul>
 *
 * <p>{@code -Dk3s.image=rancher/k3s:<tag>} picks the Kubernetes version. PostgreSQL ({@code postgres:17}) and PgBouncer
 * (the chart's default image) come from Docker Hub. The only change to the example files: the SessionPool's CPU
 * request is lowered to {@value #POOL_CPU_REQUEST} so its two pods fit on a small Docker host.
 */
class K3sEndToEndTest {
  static final String K3S_IMAGE = System.getProperty("k3s.image", "rancher/k3s:v1.31.4-k3s1");
  static final String OPERATOR_IMAGE = System.getProperty("k3s.operatorImage");
  static final String RUNTIME_IMAGE = System.getProperty("k3s.runtimeImage");
  static final String IMAGE_TARS = System.getProperty("k3s.imageTars", "");

  static final String RELEASE = "realtime";
  static final String OPERATOR_NS = "realtime-system";
  static final String NS = "listening-party";
  static final String POOL_CPU_REQUEST = "250m";
  static final String PARTY = "00000000-0000-0000-0000-000000000042";
  static final ObjectMapper JSON = new ObjectMapper();

  static K3sContainer k3s;
  static String kubeconfig;
  static KubernetesClient client;
  static final List<AutoCloseable> closeables = new ArrayList<>();

  /**
   * Skips (assumptions, reported by Surefire as a skipped test with this message) or starts K3s. Called from the test
   * rather than {@code @BeforeAll}, whose skips Surefire does not count.
   */
  static void startCluster() {
    assumeTrue(DockerClientFactory.instance().isDockerAvailable(),
        "Docker is not available: K3sEndToEndTest (a real Kubernetes cluster in Docker) is skipped");
    assumeTrue(OPERATOR_IMAGE != null && RUNTIME_IMAGE != null,
        "K3sEndToEndTest is skipped: set -Dk3s.operatorImage=... and -Dk3s.runtimeImage=... to images K3s can pull "
            + "or import (-Dk3s.imageTars=...); see the class comment");
    k3s = new K3sContainer(DockerImageName.parse(K3S_IMAGE));
    int i = 0;
    for (String tar : IMAGE_TARS.split(",")) {
      if (!tar.isBlank()) {
        Path p = Path.of(tar.trim()).toAbsolutePath();
        assertTrue(Files.isRegularFile(p), "k3s.imageTars: no file " + p);
        // K3s imports every tarball of this folder into containerd when it starts
        k3s.withCopyFileToContainer(MountableFile.forHostPath(p), "/var/lib/rancher/k3s/agent/images/image-" + i++ + ".tar");
      }
    }
    k3s.start();
    kubeconfig = k3s.getKubeConfigYaml();
    client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeconfig)).build();
  }

  @AfterAll
  static void stopCluster() {
    for (AutoCloseable c : closeables) {
      try {
        c.close();
      } catch (Exception e) {
        // best effort
      }
    }
    if (client != null) {
      client.close();
    }
    if (k3s != null) {
      k3s.stop();
    }
  }

  @Test
  void chartExampleAndClientOnARealCluster() throws Exception {
    startCluster();
    installChart();

    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
    // kubectl -n listening-party apply -f secrets.yaml (as committed: the database below uses its owner password)
    for (ObjectNode doc : Examples.documents("secrets.yaml")) {
      apply(Serialization.unmarshal(doc.toString(), Secret.class));
    }
    startPostgres();

    // kubectl -n listening-party apply -f realtimecluster.yaml -f sessionpool.yaml
    apply(Serialization.unmarshal(Examples.one("RealtimeCluster").toString(), RealtimeCluster.class));
    SessionPool pool = Serialization.unmarshal(Examples.one("SessionPool").toString(), SessionPool.class);
    pool.getSpec().getResources().getRequests().put("cpu", new Quantity(POOL_CPU_REQUEST));
    apply(pool);
    String clusterName = Examples.one("RealtimeCluster").at("/metadata/name").asText();
    String poolName = pool.getMetadata().getName();

    await("RealtimeCluster " + clusterName + " DatabaseReady", Duration.ofMinutes(5),
        () -> condition(cluster(clusterName), "DatabaseReady").filter(Condition::isTrue).isPresent());

    try (LocalPortForward pg = client.services().inNamespace(NS).withName("postgres").portForward(5432)) {
      try (Connection c = owner(pg.getLocalPort()); Statement st = c.createStatement()) {
        st.execute(Examples.read("schema.sql"));
        st.execute("INSERT INTO public.sessions (id, host_id, title) VALUES ('" + PARTY + "', gen_random_uuid(), 'K3s')");
        st.execute("INSERT INTO public.song_queue (session_id, added_by, title, position) VALUES ('" + PARTY
            + "', gen_random_uuid(), 'Song A', 1)");
      }
    }

    await("RealtimeCluster " + clusterName + " Ready", Duration.ofMinutes(10),
        () -> condition(cluster(clusterName), "Ready").filter(Condition::isTrue).isPresent());
    await("SessionPool " + poolName + " Ready", Duration.ofMinutes(5),
        () -> Optional.ofNullable(client.resources(SessionPool.class).inNamespace(NS).withName(poolName).get())
            .map(SessionPool::getStatus).flatMap(s -> find(s.getConditions(), "Ready")).filter(Condition::isTrue)
            .isPresent());
    RealtimeCluster ready = cluster(clusterName);
    assertEquals("ws://" + clusterName + "." + NS + ".svc:4000/realtime/v1/websocket",
        ready.getStatus().getEndpoints().getWebsocket());

    // kubectl -n listening-party port-forward svc/listening-party 4000:4000, then two clients
    LocalPortForward rt = client.services().inNamespace(NS).withName(clusterName).portForward(4000);
    closeables.add(rt);
    String anonKey = anonKey(jwtSecret());
    URI uri = URI.create("ws://127.0.0.1:" + rt.getLocalPort() + "/realtime/v1/websocket?vsn=1.0.0&apikey=" + anonKey);
    String topic = "realtime:party:" + PARTY;

    Socket dj = Socket.open(uri);
    Socket fan = Socket.open(uri);
    JsonNode djJoin = dj.join(topic, broadcastOnly());
    assertEquals("ok", djJoin.at("/payload/status").asText(), djJoin.toString());
    ObjectNode fanConfig = broadcastOnly();
    fanConfig.putArray("postgres_changes").addObject()
        .put("event", "INSERT").put("schema", "public").put("table", "votes").put("filter", "session_id=eq." + PARTY);
    JsonNode fanJoin = fan.join(topic, fanConfig);
    assertEquals("ok", fanJoin.at("/payload/status").asText(), fanJoin.toString());
    JsonNode subscribed = fan.await(m -> "system".equals(m.path("event").asText())
        && "postgres_changes".equals(m.at("/payload/extension").asText()), Duration.ofSeconds(60), "Postgres Changes system message");
    assertEquals("ok", subscribed.at("/payload/status").asText(), subscribed.toString());

    // chat through Broadcast
    dj.push(topic, "broadcast", JSON.createObjectNode().put("type", "broadcast").put("event", "chat")
        .set("payload", JSON.createObjectNode().put("from", "dj").put("text", "hello from k3s")));
    JsonNode chat = fan.await(m -> "broadcast".equals(m.path("event").asText())
        && "chat".equals(m.at("/payload/event").asText()), Duration.ofSeconds(30), "chat broadcast");
    assertEquals("hello from k3s", chat.at("/payload/payload/text").asText());

    // a vote through Postgres Changes (the slot streamed by a runtime pod)
    try (LocalPortForward pg = client.services().inNamespace(NS).withName("postgres").portForward(5432);
        Connection c = owner(pg.getLocalPort()); Statement st = c.createStatement()) {
      st.execute("INSERT INTO public.votes (session_id, song_id, user_id, value) SELECT session_id, id, gen_random_uuid(), 1 "
          + "FROM public.song_queue WHERE session_id = '" + PARTY + "'");
    }
    JsonNode vote = fan.await(m -> "postgres_changes".equals(m.path("event").asText()), Duration.ofSeconds(60),
        "vote through Postgres Changes");
    assertEquals("INSERT", vote.at("/payload/data/type").asText(), vote.toString());
    assertEquals("votes", vote.at("/payload/data/table").asText(), vote.toString());
    assertEquals(PARTY, vote.at("/payload/data/record/session_id").asText(), vote.toString());
  }

  /** helm install realtime helm/realtime-operator -n realtime-system --create-namespace --set images... --wait */
  private static void installChart() {
    String[] operator = splitImage(OPERATOR_IMAGE);
    String[] runtime = splitImage(RUNTIME_IMAGE);
    Release release;
    try {
      release = new Helm(HelmChartTest.chart()).install()
          .withKubeConfigContents(kubeconfig)
          .withName(RELEASE)
          .withNamespace(OPERATOR_NS)
          .createNamespace()
          .set("images.operator.repository", operator[0])
          .set("images.operator.tag", operator[1])
          .set("images.runtime.repository", runtime[0])
          .set("images.runtime.tag", runtime[1])
          .waitReady()
          .withTimeout(300)
          .call();
    } catch (RuntimeException e) {
      throw new AssertionError("helm install failed: " + e.getMessage() + "\n" + diagnostics(), e);
    }
    assertEquals("deployed", release.getStatus(), release.getOutput());
  }

  /** The database docs/kubernetes.md assumes: PostgreSQL 17 with wal_level=logical, as the Service postgres. */
  private void startPostgres() {
    Map<String, String> labels = Map.of("app", "postgres");
    String ownerSecret = Examples.one("RealtimeCluster").at("/spec/database/credentialsSecret/name").asText();
    String database = Examples.one("RealtimeCluster").at("/spec/database/name").asText();
    client.apps().deployments().inNamespace(NS).resource(new DeploymentBuilder()
        .withNewMetadata().withName("postgres").withLabels(labels).endMetadata()
        .withNewSpec().withReplicas(1).withNewSelector().withMatchLabels(labels).endSelector()
        .withNewTemplate().withNewMetadata().withLabels(labels).endMetadata()
        .withNewSpec().addNewContainer().withName("postgres").withImage("postgres:17")
        .withArgs("-c", "wal_level=logical")
        .addNewEnv().withName("POSTGRES_USER").withNewValueFrom().withNewSecretKeyRef()
        .withName(ownerSecret).withKey("username").endSecretKeyRef().endValueFrom().endEnv()
        .addNewEnv().withName("POSTGRES_PASSWORD").withNewValueFrom().withNewSecretKeyRef()
        .withName(ownerSecret).withKey("password").endSecretKeyRef().endValueFrom().endEnv()
        .addNewEnv().withName("POSTGRES_DB").withValue(database).endEnv()
        .addNewPort().withContainerPort(5432).endPort()
        // over TCP: during initdb the image runs a server on the Unix socket only
        .withNewReadinessProbe().withNewExec().withCommand("pg_isready", "-h", "127.0.0.1", "-U", "postgres", "-d", database).endExec()
        .withPeriodSeconds(2).endReadinessProbe()
        .endContainer().endSpec().endTemplate().endSpec().build()).create();
    // realtimecluster.yaml's database host is postgres.listening-party.svc
    client.services().inNamespace(NS).resource(new ServiceBuilder()
        .withNewMetadata().withName("postgres").endMetadata()
        .withNewSpec().withSelector(labels).addNewPort().withName("postgres").withPort(5432)
        .withTargetPort(new IntOrString(5432)).endPort().endSpec().build()).create();
    client.apps().deployments().inNamespace(NS).withName("postgres").waitUntilReady(5, TimeUnit.MINUTES);
  }

  private static <T extends HasMetadata> void apply(T object) {
    object.getMetadata().setNamespace(NS);
    client.resource(object).create();
  }

  private static RealtimeCluster cluster(String name) {
    return client.resources(RealtimeCluster.class).inNamespace(NS).withName(name).get();
  }

  private static Optional<Condition> condition(RealtimeCluster c, String type) {
    return c == null || c.getStatus() == null ? Optional.empty() : find(c.getStatus().getConditions(), type);
  }

  private static Optional<Condition> find(List<Condition> conditions, String type) {
    return conditions == null ? Optional.empty()
        : conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  private static Connection owner(int port) throws SQLException {
    Secret s = Serialization.unmarshal(Examples.secret(
        Examples.one("RealtimeCluster").at("/spec/database/credentialsSecret/name").asText()).toString(), Secret.class);
    String database = Examples.one("RealtimeCluster").at("/spec/database/name").asText();
    return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database,
        s.getStringData().get("username"), s.getStringData().get("password"));
  }

  private static String jwtSecret() {
    ObjectNode c = Examples.one("RealtimeCluster");
    return Examples.secret(c.at("/spec/auth/jwtSecret/name").asText())
        .at("/stringData/" + c.at("/spec/auth/jwtSecret/key").asText()).asText();
  }

  /** An anon key as client/keys.mjs makes it (HS256). */
  static String anonKey(String secret) throws Exception {
    long now = System.currentTimeMillis() / 1000;
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String unsigned = b64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8)) + "."
        + b64.encodeToString(JSON.writeValueAsBytes(Map.of("iss", "supabase", "role", "anon", "iat", now, "exp", now + 3600)));
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return unsigned + "." + b64.encodeToString(mac.doFinal(unsigned.getBytes(StandardCharsets.UTF_8)));
  }

  /** "registry/name:tag" -> {"registry/name", "tag"} (a port in the registry is not a tag). */
  static String[] splitImage(String image) {
    int colon = image.lastIndexOf(':');
    if (colon < 0 || colon < image.lastIndexOf('/')) {
      throw new IllegalArgumentException("name the image with its tag (repository:tag): " + image);
    }
    return new String[] {image.substring(0, colon), image.substring(colon + 1)};
  }

  private static ObjectNode broadcastOnly() {
    ObjectNode config = JSON.createObjectNode();
    config.putObject("broadcast").put("self", false).put("ack", false);
    config.putObject("presence").put("key", "");
    config.putArray("postgres_changes");
    config.put("private", false);
    return config;
  }

  /** Polls until {@code done} or fails with the cluster's state (pods, statuses, operator log). */
  private static void await(String what, Duration timeout, BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      try {
        if (done.getAsBoolean()) {
          return;
        }
      } catch (RuntimeException e) {
        // API server hiccup: try again
      }
      Thread.sleep(2000);
    }
    throw new AssertionError("timed out after " + timeout + " waiting for " + what + "\n" + diagnostics());
  }

  private static String diagnostics() {
    StringBuilder out = new StringBuilder();
    try {
      for (String ns : List.of(OPERATOR_NS, NS)) {
        for (Pod p : client.pods().inNamespace(ns).list().getItems()) {
          out.append("pod ").append(ns).append('/').append(p.getMetadata().getName()).append(' ')
              .append(p.getStatus().getPhase());
          for (ContainerStatus cs : Objects.requireNonNullElse(p.getStatus().getContainerStatuses(), List.<ContainerStatus>of())) {
            out.append(' ').append(cs.getName()).append(" ready=").append(cs.getReady()).append(" state=")
                .append(Serialization.asJson(cs.getState()));
          }
          out.append('\n');
        }
      }
      for (RealtimeCluster c : client.resources(RealtimeCluster.class).inNamespace(NS).list().getItems()) {
        out.append("RealtimeCluster ").append(c.getMetadata().getName()).append(" status ")
            .append(Serialization.asJson(c.getStatus())).append('\n');
      }
      for (SessionPool p : client.resources(SessionPool.class).inNamespace(NS).list().getItems()) {
        out.append("SessionPool ").append(p.getMetadata().getName()).append(" status ")
            .append(Serialization.asJson(p.getStatus())).append('\n');
      }
      for (Pod p : client.pods().inNamespace(OPERATOR_NS).list().getItems()) {
        out.append("--- log of ").append(p.getMetadata().getName()).append('\n')
            .append(client.pods().inNamespace(OPERATOR_NS).withName(p.getMetadata().getName()).tailingLines(80).getLog());
      }
    } catch (RuntimeException e) {
      out.append("(diagnostics failed: ").append(e).append(")\n");
    }
    return out.toString();
  }

  /** A Phoenix-protocol client (vsn 1.0.0: JSON objects) on the JDK's WebSocket, with heartbeats. */
  static final class Socket implements WebSocket.Listener, AutoCloseable {
    final List<JsonNode> messages = new CopyOnWriteArrayList<>();
    final AtomicInteger ref = new AtomicInteger();
    final StringBuilder partial = new StringBuilder();
    final Map<String, String> joinRefs = new ConcurrentHashMap<>();
    final ScheduledExecutorService heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "k3s-e2e-heartbeat");
      t.setDaemon(true);
      return t;
    });
    WebSocket ws;

    static Socket open(URI uri) {
      Socket s = new Socket();
      s.ws = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(20))
          .buildAsync(uri, s).orTimeout(30, TimeUnit.SECONDS).join();
      s.heartbeat.scheduleAtFixedRate(() -> s.push("phoenix", "heartbeat", JSON.createObjectNode()), 15, 15, TimeUnit.SECONDS);
      closeables.add(s);
      return s;
    }

    /** A push on {@code topic}, with the ref of its join (none for {@code phoenix}). */
    synchronized String push(String topic, String event, JsonNode payload) {
      String r = String.valueOf(ref.incrementAndGet());
      ObjectNode msg = JSON.createObjectNode().put("topic", topic).put("event", event).put("ref", r);
      msg.set("payload", payload);
      String joinRef = joinRefs.get(topic);
      if (joinRef != null) {
        msg.put("join_ref", joinRef);
      }
      ws.sendText(msg.toString(), true).join();
      return r;
    }

    /** phx_join; returns the phx_reply. */
    JsonNode join(String topic, ObjectNode config) throws InterruptedException {
      ObjectNode payload = JSON.createObjectNode();
      payload.set("config", config);
      String r;
      synchronized (this) {
        r = String.valueOf(ref.incrementAndGet());
        ObjectNode msg = JSON.createObjectNode().put("topic", topic).put("event", "phx_join").put("ref", r)
            .put("join_ref", r);
        msg.set("payload", payload);
        joinRefs.put(topic, r);
        ws.sendText(msg.toString(), true).join();
      }
      return await(m -> "phx_reply".equals(m.path("event").asText()) && r.equals(m.path("ref").asText())
          && topic.equals(m.path("topic").asText()), Duration.ofSeconds(30), "join reply of " + topic);
    }

    JsonNode await(Predicate<JsonNode> p, Duration timeout, String what) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        for (JsonNode m : messages) {
          if (p.test(m)) {
            return m;
          }
        }
        Thread.sleep(50);
      }
      throw new AssertionError("timed out after " + timeout + " waiting for " + what + "; received " + messages);
    }

    @Override
    public void onOpen(WebSocket webSocket) {
      webSocket.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        try {
          messages.add(JSON.readTree(partial.toString()));
        } catch (Exception e) {
          messages.add(JSON.createObjectNode().put("unparsable", partial.toString()));
        }
        partial.setLength(0);
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, java.nio.ByteBuffer data, boolean last) {
      webSocket.request(1);
      return null;
    }

    @Override
    public void close() {
      heartbeat.shutdownNow();
      if (ws != null && !ws.isOutputClosed()) {
        CompletableFuture<WebSocket> f = ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
        f.orTimeout(5, TimeUnit.SECONDS).exceptionally(e -> null).join();
      }
    }
  }
}
