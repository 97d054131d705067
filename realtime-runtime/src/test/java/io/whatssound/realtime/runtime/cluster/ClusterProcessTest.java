package io.whatssound.realtime.runtime.cluster;

import static io.whatssound.realtime.runtime.TestSocket.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.whatssound.realtime.postgres.EmbeddedDatabase;
import io.whatssound.realtime.runtime.FaultCount;
import io.whatssound.realtime.runtime.TestSocket;
import io.whatssound.realtime.runtime.TestTables;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Three runtime processes on loopback with static peers; pods die by {@code kill -9}. */
class ClusterProcessTest {
  private final Path logs = Path.of("target", "cluster-it-logs", UUID.randomUUID().toString());
  private final List<PodProcess> pods = new ArrayList<>();
  private final List<TestSocket> clients = new ArrayList<>();
  private EmbeddedDatabase db;

  @AfterEach
  void stop() throws Exception {
    clients.forEach(TestSocket::close);
    pods.parallelStream().forEach(PodProcess::close);
    if (db != null) {
      db.close();
    }
  }

  private void startPods(Map<String, String> extra) throws Exception {
    Files.createDirectories(logs);
    List<Integer> clusterPorts = Ports.clusterPorts(3);
    Map<String, String> env = PodProcess.env("it-" + UUID.randomUUID(), clusterPorts, extra);
    for (int cp : clusterPorts) {
      pods.add(new PodProcess(Ports.free(), cp, env, logs));
    }
    awaitTrue(() -> pods.stream().allMatch(p -> p.ready() && p.metric("realtime_cluster_members") == 3),
        Duration.ofSeconds(60), () -> "three ready pods in one view; log of the first:\n" + pods.get(0).logTail());
  }

  private TestSocket client(PodProcess pod) throws Exception {
    TestSocket c = new TestSocket(pod.port, TestSocket.token(PodProcess.SECRET, "anon"));
    clients.add(c);
    return c;
  }

  @Test
  void killingAPodMakesItsPresencesLeaveEverywhereWithinTheBound() throws Exception {
    startPods(Map.of("REALTIME_DB_URL", "none"));
    TestSocket[] cs = {client(pods.get(0)), client(pods.get(1)), client(pods.get(2))};
    for (int i = 0; i < 3; i++) {
      cs[i].join("party", "u" + i, false, false);
      cs[i].track("party", "{\"i\":" + i + "}");
    }
    Set<String> all = Set.of("u0", "u1", "u2");
    awaitTrue(() -> List.of(cs).stream().allMatch(c -> c.presenceKeys().equals(all)), Duration.ofSeconds(15),
        () -> "every pod sees every presence");
    cs[0].broadcast("party", "hello", "{\"from\":0}");
    for (TestSocket c : List.of(cs[1], cs[2])) {
      awaitTrue(() -> c.broadcasts("hello").size() == 1, Duration.ofSeconds(10), () -> "broadcast across processes");
    }

    long killedAt = System.nanoTime();
    pods.get(2).kill();
    Set<String> left = Set.of("u0", "u1");
    awaitTrue(() -> cs[0].presenceKeys().equals(left) && cs[1].presenceKeys().equals(left), Duration.ofSeconds(15),
        () -> "u2 leaves: " + cs[0].presenceKeys() + " " + cs[1].presenceKeys());
    long millis = (System.nanoTime() - killedAt) / 1_000_000;
    System.out.println("presences of the killed pod left the others after " + millis + " ms");
    assertTrue(millis <= 10_000, "the default bound is 10 s, took " + millis + " ms");
    awaitTrue(() -> pods.get(0).metric("realtime_cluster_members") == 2, Duration.ofSeconds(5), () -> "view of 2");
  }

  @Test
  void killingTheSlotHolderWhileRowsAreInsertedLosesNoRow(@TempDir Path data) throws Exception {
    db = EmbeddedDatabase.start(0, Optional.of(data));
    try (Connection c = db.connect()) {
      TestTables.contractWithSlot(c);
      TestTables.published(c, "plays", "n int PRIMARY KEY, song text");
    }
    startPods(Map.of("REALTIME_DB_URL", db.postgresUrl(), "REALTIME_DB_PROVISION", "false"));
    awaitTrue(() -> pods.stream().mapToDouble(p -> p.metric("realtime_cluster_slot_holder")).sum() == 1,
        Duration.ofSeconds(30), () -> "one pod holds the slot");
    PodProcess holder = pods.stream().filter(p -> p.metric("realtime_cluster_slot_holder") == 1).findFirst()
        .orElseThrow();
    PodProcess survivor = pods.stream().filter(p -> p != holder).findFirst().orElseThrow();
    TestSocket sub = client(survivor);
    sub.joinInserts("plays");

    // 1,000 rows a second: a transaction of 10 rows every 10 ms, numbered in order
    int total = 10_000;
    int perTx = 10;
    long period = Duration.ofMillis(10).toNanos();
    AtomicInteger inserted = new AtomicInteger();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread writer = new Thread(() -> {
      try (Connection c = db.connect(); Statement s = c.createStatement()) {
        long due = System.nanoTime();
        for (int from = 1; from <= total; from += perTx) {
          s.execute("INSERT INTO public.plays SELECT g, 'song ' || g FROM generate_series(" + from + ", "
              + (from + perTx - 1) + ") g");
          inserted.addAndGet(perTx);
          due += period;
          LockSupport.parkNanos(Math.max(0, due - System.nanoTime()));
        }
      } catch (Throwable t) {
        failure.set(t);
      }
    }, "writer");
    writer.start();
    awaitTrue(() -> inserted.get() >= 2_000 || failure.get() != null, Duration.ofSeconds(60), () -> "2,000 rows");
    holder.kill();
    long killedAt = System.nanoTime();
    int lastBeforeKill = inserted.get();
    System.out.println("killed the slot holder after " + lastBeforeKill + " rows were inserted");
    // failover: from the kill until the first row inserted after it reaches the surviving pod's client
    awaitTrue(() -> sub.received.stream().anyMatch(m -> m.get(3).asText().equals("postgres_changes")
        && m.get(4).at("/data/record/n").asInt() > lastBeforeKill), Duration.ofSeconds(90),
        () -> "a row inserted after the kill; survivor log:\n" + survivor.logTail());
    long failoverMillis = (System.nanoTime() - killedAt) / 1_000_000;
    writer.join(120_000);
    assertEquals(null, failure.get());
    assertEquals(total, inserted.get());

    Set<Integer> seen = new HashSet<>();
    List<Integer> deliveries = new ArrayList<>();
    awaitTrue(() -> {
      seen.clear();
      deliveries.clear();
      for (JsonNode m : sub.received) {
        if (m.get(3).asText().equals("postgres_changes")) {
          seen.add(m.get(4).at("/data/record/n").asInt());
          deliveries.add(m.get(4).at("/data/record/n").asInt());
        }
      }
      return seen.size() == total;
    }, Duration.ofSeconds(90), () -> "every row on the surviving pod: " + seen.size() + " of " + total
        + "; survivor log:\n" + survivor.logTail());
    List<Integer> sent = IntStream.rangeClosed(1, total).boxed().toList();
    FaultCount count = FaultCount.of("slot-holder-kill-9", sent, deliveries, failoverMillis).print();
    assertEquals(0, count.lost(), count.line());
    awaitTrue(() -> pods.stream().filter(PodProcess::alive)
            .mapToDouble(p -> p.metric("realtime_cluster_slot_holder")).sum() == 1,
        Duration.ofSeconds(30), () -> "a surviving pod took the slot over");
    double dups = pods.stream().filter(PodProcess::alive)
        .mapToDouble(p -> p.metric("realtime_cluster_cdc_duplicates_total")).max().orElse(0);
    System.out.println("failover: " + total + " rows, " + deliveries.size() + " deliveries, duplicates counted: "
        + dups);
  }
}
