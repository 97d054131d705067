package io.whatssound.realtime.runtime.cluster;

import static io.whatssound.realtime.runtime.TestSocket.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.whatssound.realtime.runtime.TestSocket;
import io.whatssound.realtime.runtime.config.RuntimeConfig;
import io.whatssound.realtime.runtime.server.RealtimeServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocketHandshakeException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.jgroups.Address;
import org.jgroups.JChannel;
import org.jgroups.Message;
import org.jgroups.protocols.DISCARD;
import org.jgroups.protocols.TCP;
import org.jgroups.stack.Protocol;
import org.jgroups.stack.ProtocolStack;
import org.jgroups.util.MessageBatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

/** Three runtimes in one JVM forming a cluster on loopback: broadcast, presence, a partition that heals. */
class ClusterInProcessTest {
  /** Every pod of these tests encrypts its cluster traffic with this key. */
  private static final String KEY = "tenant-cluster-key-0123456789";
  private final List<RealtimeServer> pods = new ArrayList<>();
  private String clusterName;
  private List<InetSocketAddress> peers;
  private RuntimeConfig config;
  private final List<TestSocket> clients = new ArrayList<>();

  @AfterEach
  void stop() {
    clients.forEach(TestSocket::close);
    pods.parallelStream().forEach(p -> p.shutdown(Duration.ofMillis(500)));
  }

  private void startPods(int n) throws Exception {
    startPods(n, Map.of());
  }

  private void startPods(int n, Map<String, String> extraEnv) throws Exception {
    String name = "test-" + UUID.randomUUID();
    List<Integer> ports = Ports.clusterPorts(n);
    List<InetSocketAddress> peers = ports.stream().map(p -> InetSocketAddress.createUnresolved("127.0.0.1", p)).toList();
    this.clusterName = name;
    this.peers = peers;
    Map<String, String> env = new HashMap<>(Map.of("REALTIME_PORT", "0", "REALTIME_HOST", "127.0.0.1",
        "REALTIME_DB_URL", "none", "REALTIME_JOIN_ERROR_DELAY_MS", "0", "REALTIME_MAX_PRESENCE_CALLS", "1000",
        "REALTIME_MAX_EVENTS_PER_SECOND", "100000"));
    env.putAll(extraEnv);
    RuntimeConfig config = RuntimeConfig.fromEnv(env).withJwtSecret(PodProcess.SECRET);
    this.config = config;
    List<CompletableFuture<RealtimeServer>> starting = new ArrayList<>();
    for (int port : ports) {
      ClusterSettings s = settings(name, port, peers, KEY);
      starting.add(CompletableFuture.supplyAsync(() -> {
        try {
          return new RealtimeServer(config, s, Clock.systemUTC()).start();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    for (CompletableFuture<RealtimeServer> f : starting) {
      pods.add(f.join());
    }
    awaitTrue(() -> pods.stream().allMatch(p -> node(p).memberCount() == n && node(p).ready()), Duration.ofSeconds(30),
        () -> "one view of " + n + " members");
  }

  private static ClusterSettings settings(String name, int port, List<InetSocketAddress> peers, String key) {
    return new ClusterSettings(name, port, peers, Optional.empty(), "127.0.0.1",
        Duration.ofSeconds(3), Duration.ofSeconds(2), Duration.ofMillis(200), Optional.of(key));
  }

  private static ClusterNode node(RealtimeServer s) {
    return s.cluster().orElseThrow();
  }

  private TestSocket client(int pod) throws Exception {
    TestSocket c = new TestSocket(pods.get(pod).port(), TestSocket.token(PodProcess.SECRET, "anon"));
    clients.add(c);
    return c;
  }

  @Test
  void broadcastsCrossPodsOnceInOrderWithSelfAndAck() throws Exception {
    startPods(3);
    TestSocket a = client(0);
    TestSocket b = client(1);
    TestSocket c = client(2);
    a.join("room", "a", false, true);
    b.join("room", "b", true, false);
    c.join("room", "c", false, false);
    int n = 200;
    for (int i = 0; i < n; i++) {
      a.broadcast("room", "seq", "{\"i\":" + i + "}");
    }
    for (TestSocket x : List.of(b, c)) {
      awaitTrue(() -> x.broadcasts("seq").size() >= n, Duration.ofSeconds(20), () -> "all broadcasts on a pod");
      List<JsonNode> got = x.broadcasts("seq");
      assertEquals(n, got.size(), "each message arrives once");
      for (int i = 0; i < n; i++) {
        assertEquals(i, got.get(i).get(4).path("payload").path("i").asInt(), "per-sender order");
      }
    }
    awaitTrue(() -> a.received.stream().filter(m -> m.get(3).asText().equals("phx_reply")).count() >= n + 1,
        Duration.ofSeconds(10), () -> "acks");
    assertEquals(0, a.broadcasts("seq").size(), "self:false: the sender does not receive its own broadcasts");

    // self:true on another pod: b receives its own message once, a and c receive it once
    b.broadcast("room", "fromb", "{}");
    for (TestSocket x : List.of(a, b, c)) {
      awaitTrue(() -> x.broadcasts("fromb").size() == 1, Duration.ofSeconds(10), () -> "fromb");
    }

    // REST on the third pod reaches sockets on the others
    HttpResponse<String> rest = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + pods.get(2).port() + "/api/broadcast"))
            .header("apikey", TestSocket.token(PodProcess.SECRET, "service_role"))
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(
                "{\"messages\":[{\"topic\":\"room\",\"event\":\"rest\",\"payload\":{\"x\":1}}]}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(202, rest.statusCode(), rest.body());
    for (TestSocket x : List.of(a, b, c)) {
      awaitTrue(() -> x.broadcasts("rest").size() == 1, Duration.ofSeconds(10), () -> "rest broadcast");
    }
  }

  @Test
  void aPodWithoutTheTenantsClusterKeyCannotJoin() throws Exception {
    startPods(2);
    // same cluster name, same peers, another key
    try (Joining joining = joining("another-key-0123456789")) {
      RealtimeServer rogue = joining.pod();
      // three merge intervals: the rogue finds the pods (discovery is not encrypted) but can join nothing
      long until = System.nanoTime() + Duration.ofSeconds(6).toNanos();
      while (System.nanoTime() < until) {
        for (RealtimeServer p : pods) {
          assertEquals(2, node(p).memberCount(), "the tenant's pods keep their view of two");
        }
        Thread.sleep(100);
      }
      assertTrue(rogue.cluster().map(c -> c.memberCount() <= 1).orElse(true), "the rogue is alone");
    }
  }

  /** A pod starting on a port of its own with the test's peers and it, while the test goes on; closing stops it. */
  private record Joining(RealtimeServer pod, CompletableFuture<Void> started) implements AutoCloseable {
    @Override
    public void close() {
      pod.shutdown(Duration.ofMillis(200));
      started.handle((v, e) -> null).join();
    }
  }

  private Joining joining(String key) throws Exception {
    int port = Ports.clusterPorts(1).get(0);
    List<InetSocketAddress> withNew = new ArrayList<>(peers);
    withNew.add(InetSocketAddress.createUnresolved("127.0.0.1", port));
    RealtimeServer pod = new RealtimeServer(config, settings(clusterName, port, withNew, key), Clock.systemUTC());
    return new Joining(pod, CompletableFuture.runAsync(() -> {
      try {
        pod.start();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }));
  }

  @Test
  void aServingPodStaysReadyWhileANewPodJoins() throws Exception {
    startPods(1);
    RealtimeServer serving = pods.get(0);
    // the serving pod never gets the newcomer's presences: it drops every cluster message from another member
    JChannel ch = node(serving).channel();
    ch.getProtocolStack().insertProtocolAtTop(new DropOthers(ch.getAddress()));
    try (Joining added = joining(KEY)) {
      awaitTrue(() -> node(serving).memberCount() == 2, Duration.ofSeconds(30), () -> "a view of two");
      // a scale-up: the serving pod still accepts sockets (within the 5 s a joining pod waits for presences)
      assertTrue(node(serving).ready(), "the serving pod stays ready while the new one joins");
      TestSocket c = client(0);
      c.join("party", "still-served", false, false);
    }
  }

  /** At the top of a stack: drops what other members send (cluster messages; membership works below). */
  private static final class DropOthers extends Protocol {
    private final Address self;

    DropOthers(Address self) {
      this.self = self;
    }

    @Override
    public Object up(Message msg) {
      return self.equals(msg.getSrc()) ? up_prot.up(msg) : null;
    }

    @Override
    public void up(MessageBatch batch) {
      batch.removeIf(m -> !self.equals(m.getSrc()), true);
      if (!batch.isEmpty()) {
        up_prot.up(batch);
      }
    }
  }

  @Test
  void presenceIsTheSameOnEveryPodAndLeavesWithItsSocket() throws Exception {
    startPods(3);
    TestSocket a = client(0);
    TestSocket b = client(1);
    a.join("party", "dj", false, false);
    b.join("party", "listener", false, false);
    a.track("party", "{\"role\":\"dj\"}");
    b.track("party", "{\"role\":\"listener\"}");
    Set<String> both = Set.of("dj", "listener");
    awaitTrue(() -> a.presenceKeys().equals(both) && b.presenceKeys().equals(both), Duration.ofSeconds(10),
        () -> "a and b see both: " + a.presenceKeys() + " " + b.presenceKeys());
    // a subscriber joining later on the third pod gets the full state at once
    TestSocket c = client(2);
    c.join("party", "late", false, false);
    JsonNode state = c.await(m -> m.get(3).asText().equals("presence_state"), Duration.ofSeconds(5), "state");
    assertTrue(state.get(4).has("dj") && state.get(4).has("listener"), state.toString());
    assertEquals("dj", state.get(4).path("dj").path("metas").get(0).path("role").asText());
    // a socket that goes away leaves everywhere
    a.close();
    awaitTrue(() -> b.presenceKeys().equals(Set.of("listener")) && c.presenceKeys().equals(Set.of("listener")),
        Duration.ofSeconds(10), () -> "dj left: " + b.presenceKeys() + " " + c.presenceKeys());
  }

  @Test
  void aPartitionHealsIntoOneConsistentPresenceState() throws Exception {
    startPods(3);
    TestSocket[] cs = {client(0), client(1), client(2)};
    for (int i = 0; i < 3; i++) {
      cs[i].join("p", "k" + i, false, false);
      cs[i].track("p", "{\"n\":" + i + "}");
    }
    Set<String> all = Set.of("k0", "k1", "k2");
    awaitTrue(() -> List.of(cs).stream().allMatch(x -> x.presenceKeys().equals(all)), Duration.ofSeconds(10),
        () -> "everyone sees everyone");

    Address a0 = node(pods.get(0)).channel().getAddress();
    Address a1 = node(pods.get(1)).channel().getAddress();
    Address a2 = node(pods.get(2)).channel().getAddress();
    discard(node(pods.get(0)).channel(), a2);
    discard(node(pods.get(1)).channel(), a2);
    discard(node(pods.get(2)).channel(), a0, a1);
    awaitTrue(() -> cs[0].presenceKeys().equals(Set.of("k0", "k1")) && cs[2].presenceKeys().equals(Set.of("k2")),
        Duration.ofSeconds(20), () -> "the partition splits presence: " + cs[0].presenceKeys() + " "
            + cs[2].presenceKeys());
    assertEquals(2, node(pods.get(0)).memberCount());
    assertEquals(1, node(pods.get(2)).memberCount());

    // changes on both sides while partitioned
    cs[1].untrack("p");
    TestSocket extra = client(2);
    extra.join("p", "k3", false, false);
    extra.track("p", "{\"n\":3}");
    awaitTrue(() -> cs[0].presenceKeys().equals(Set.of("k0")) && cs[2].presenceKeys().equals(Set.of("k2", "k3")),
        Duration.ofSeconds(10), () -> "changes within each side");

    for (RealtimeServer p : pods) {
      node(p).channel().getProtocolStack().removeProtocol(DISCARD.class);
    }
    Set<String> healed = Set.of("k0", "k2", "k3");
    awaitTrue(() -> pods.stream().allMatch(p -> node(p).memberCount() == 3)
            && List.of(cs[0], cs[1], cs[2], extra).stream().allMatch(x -> x.presenceKeys().equals(healed)),
        Duration.ofSeconds(40), () -> "one view and one presence state after the merge: " + cs[0].presenceKeys()
            + " " + cs[1].presenceKeys() + " " + cs[2].presenceKeys() + " " + extra.presenceKeys());
  }

  @Test
  void theConcurrentUserLimitCountsEveryPod() throws Exception {
    startPods(3, Map.of("REALTIME_MAX_CONCURRENT_USERS", "2"));
    client(0);
    client(1);
    awaitTrue(() -> node(pods.get(2)).remoteConnected() == 2, Duration.ofSeconds(5), () -> "pods share their counts");
    Exception refused = Assertions.assertThrows(Exception.class, () -> client(2));
    assertTrue(String.valueOf(refused.getCause()).contains("429") || String.valueOf(refused).contains("429")
        || refused.getCause() instanceof WebSocketHandshakeException hs
            && hs.getResponse().statusCode() == 429, refused.toString());
  }

  private static void discard(JChannel ch, Address... from) throws Exception {
    DISCARD d = new DISCARD();
    d.addIgnoredMembers(from);
    ch.getProtocolStack().insertProtocol(d, ProtocolStack.Position.ABOVE, TCP.class);
  }
}
