package io.whatssound.realtime.runtime.cluster;

import static io.whatssound.realtime.runtime.TestSocket.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.whatssound.realtime.runtime.FaultCount;
import io.whatssound.realtime.runtime.TestSocket;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two runtime pods in network namespaces of their own, as on two nodes: each reachable from this host over its own
 * veth pair, and linked to the other by a third pair that the test takes down and up again. While the link is down
 * each pod's clients see only that pod's presences; after it is back the pods merge, presence converges on both
 * sides, and broadcasts flow again with none delivered twice. Needs root and iproute2 (skipped without them).
 *
 * <p>Addresses: 10.213.N.0/24 with N random; host to pod A .1/.2, host to pod B .5/.6, pod link .9/.10 (all /30).
 */
class PartitionTest {
  private static final int HTTP = 4000;
  private static final int CLUSTER = 7800;
  private final String tag = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xFFFF));
  private final int net = ThreadLocalRandom.current().nextInt(1, 250);
  private final String nsA = "rtpart-a-" + tag;
  private final String nsB = "rtpart-b-" + tag;
  private final Path logs = Path.of("target", "cluster-it-logs", UUID.randomUUID().toString());
  private final List<PodProcess> pods = new ArrayList<>();
  private final List<TestSocket> clients = new ArrayList<>();

  private String ip(int host) {
    return "10.213." + net + "." + host;
  }

  @AfterEach
  void stop() throws Exception {
    clients.forEach(TestSocket::close);
    pods.forEach(PodProcess::close);
    run(false, "ip", "link", "del", "rth" + tag + "a");
    run(false, "ip", "link", "del", "rth" + tag + "b");
    run(false, "ip", "netns", "del", nsA);
    run(false, "ip", "netns", "del", nsB);
  }

  /** Runs a command; with {@code check}, fails on a non-zero exit. Returns whether it succeeded. */
  private static boolean run(boolean check, String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    boolean done = p.waitFor(30, TimeUnit.SECONDS);
    boolean ok = done && p.exitValue() == 0;
    if (check && !ok) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
    }
    return ok;
  }

  private void inNs(String ns, String... cmd) throws Exception {
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
    full.addAll(Arrays.asList(cmd));
    run(true, full.toArray(String[]::new));
  }

  /** The namespaces, the host links (host .1/.5, pods .2/.6) and the pod link (.9/.10, "peer" in each). */
  private void network() throws Exception {
    run(true, "ip", "netns", "add", nsA);
    run(true, "ip", "netns", "add", nsB);
    String[][] hostLinks = {{nsA, "a", "1", "2"}, {nsB, "b", "5", "6"}};
    for (String[] l : hostLinks) {
      String hostSide = "rth" + tag + l[1];
      run(true, "ip", "link", "add", hostSide, "type", "veth", "peer", "name", "host0", "netns", l[0]);
      run(true, "ip", "addr", "add", ip(Integer.parseInt(l[2])) + "/30", "dev", hostSide);
      run(true, "ip", "link", "set", hostSide, "up");
      inNs(l[0], "ip", "addr", "add", ip(Integer.parseInt(l[3])) + "/30", "dev", "host0");
      inNs(l[0], "ip", "link", "set", "host0", "up");
      inNs(l[0], "ip", "link", "set", "lo", "up");
    }
    inNs(nsA, "ip", "link", "add", "peer", "type", "veth", "peer", "name", "peer", "netns", nsB);
    inNs(nsA, "ip", "addr", "add", ip(9) + "/30", "dev", "peer");
    inNs(nsB, "ip", "addr", "add", ip(10) + "/30", "dev", "peer");
    link("up");
  }

  private void link(String state) throws Exception {
    inNs(nsA, "ip", "link", "set", "peer", state);
    inNs(nsB, "ip", "link", "set", "peer", state);
  }

  private PodProcess pod(String ns, String host, String clusterBind) throws Exception {
    Map<String, String> env = new HashMap<>();
    env.put("REALTIME_DB_URL", "none");
    env.put("REALTIME_CLUSTER_NAME", "partition-" + tag);
    env.put("REALTIME_CLUSTER_PEERS", ip(9) + ":" + CLUSTER + "," + ip(10) + ":" + CLUSTER);
    env.put("REALTIME_CLUSTER_BIND", clusterBind);
    env.put("REALTIME_CLUSTER_FAILURE_DETECTION_MS", "2000");
    env.put("REALTIME_CLUSTER_MERGE_INTERVAL_MS", "2000");
    env.put("REALTIME_MAX_EVENTS_PER_SECOND", "10000");
    PodProcess p = new PodProcess(host, List.of("ip", "netns", "exec", ns), HTTP, CLUSTER, env, logs);
    pods.add(p);
    return p;
  }

  private TestSocket client(PodProcess pod, String key) throws Exception {
    TestSocket c = new TestSocket(pod.host, pod.port, TestSocket.token(PodProcess.SECRET, "anon"));
    clients.add(c);
    c.join("party", key, false, false);
    c.track("party", "{\"listener\":\"" + key + "\"}");
    return c;
  }

  @Test
  void presenceConvergesAfterAPartitionHealsAndNoBroadcastArrivesTwice() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")) && run(false, "ip", "netns", "list"),
        "needs root and iproute2 (ip netns)");
    Files.createDirectories(logs);
    network();
    PodProcess a = pod(nsA, ip(2), ip(9));
    PodProcess b = pod(nsB, ip(6), ip(10));
    awaitTrue(() -> a.ready() && b.ready() && a.metric("realtime_cluster_members") == 2
        && b.metric("realtime_cluster_members") == 2, Duration.ofSeconds(60),
        () -> "two ready pods in one view; log of A:\n" + a.logTail());
    TestSocket ca = client(a, "ann");
    TestSocket cb = client(b, "bob");
    Set<String> both = Set.of("ann", "bob");
    awaitTrue(() -> ca.presenceKeys().equals(both) && cb.presenceKeys().equals(both), Duration.ofSeconds(15),
        () -> "both presences on both sides: " + ca.presenceKeys() + " " + cb.presenceKeys());

    long cut = System.nanoTime();
    link("down");
    awaitTrue(() -> ca.presenceKeys().equals(Set.of("ann")) && cb.presenceKeys().equals(Set.of("bob")),
        Duration.ofSeconds(30), () -> "each side alone: " + ca.presenceKeys() + " " + cb.presenceKeys());
    long splitMillis = (System.nanoTime() - cut) / 1_000_000;
    // during the partition: a listener joins on each side, and chat stays on its side
    TestSocket cc = client(a, "cat");
    TestSocket cd = client(b, "dan");
    for (int i = 0; i < 20; i++) {
      ca.broadcast("party", "during", "{\"seq\":" + i + "}");
    }
    awaitTrue(() -> cc.broadcasts("during").size() == 20, Duration.ofSeconds(10), () -> "chat on A's side");

    long heal = System.nanoTime();
    link("up");
    Set<String> all = Set.of("ann", "bob", "cat", "dan");
    awaitTrue(() -> List.of(ca, cb, cc, cd).stream().allMatch(c -> c.presenceKeys().equals(all)),
        Duration.ofSeconds(60), () -> "presence converged: " + ca.presenceKeys() + " " + cb.presenceKeys() + " "
            + cc.presenceKeys() + " " + cd.presenceKeys() + "; log of A:\n" + a.logTail());
    long convergedMillis = (System.nanoTime() - heal) / 1_000_000;

    // after the heal: 200 messages from each side; each listener that joined during the partition gets all 400 once
    for (int i = 0; i < 200; i++) {
      ca.broadcast("party", "after", "{\"seq\":" + i + "}");
      cb.broadcast("party", "after", "{\"seq\":" + (1000 + i) + "}");
    }
    awaitTrue(() -> cd.broadcasts("after").size() >= 400 && cc.broadcasts("after").size() >= 400,
        Duration.ofSeconds(30), () -> "both sides' messages on both sides: " + cc.broadcasts("after").size() + " and "
            + cd.broadcasts("after").size() + " of 400; log of A:\n" + a.logTail());
    List<Integer> expected = new ArrayList<>();
    List<Integer> deliveries = new ArrayList<>();
    List<TestSocket> listeners = List.of(cc, cd);
    for (int l = 0; l < listeners.size(); l++) {
      int tagged = l * 10_000;
      for (int i = 0; i < 200; i++) {
        expected.add(tagged + i);
        expected.add(tagged + 1000 + i);
      }
      listeners.get(l).broadcasts("after").forEach(m -> deliveries.add(tagged + m.get(4).at("/payload/seq").asInt()));
    }
    FaultCount count = FaultCount.of("partition-heal", expected, deliveries, convergedMillis).print();
    System.out.println("partition: each side alone after " + splitMillis + " ms; presence converged "
        + convergedMillis + " ms after the link came back");
    assertEquals(0, count.lost(), count.line());
    assertEquals(0, count.duplicated(), count.line());
    assertEquals(0, cb.broadcasts("during").size(), "what was said during the partition stayed on its side");
  }
}
