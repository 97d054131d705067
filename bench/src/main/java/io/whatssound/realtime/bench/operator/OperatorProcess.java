package io.whatssound.realtime.bench.operator;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.whatssound.realtime.operator.Operators;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.kube.ControlPlane;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.operator.reconciler.Timing;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The operator under test, in its own JVM so its heap is measured alone (the mock API server, PostgreSQL
 * drivers and the bench's own informers live in the parent). Assembled exactly as {@code OperatorReconcileTest}
 * and {@code OperatorMain} do, through {@link Operators#create}; only the client points at the mock server.
 *
 * <p>Arguments: {@code <master url> <slot poll seconds> <min retry seconds> <max retry seconds>}; instead of a
 * master URL, {@code kubeconfig:<file>} (a real API server, with the chart's ServiceAccount token). Protocol on
 * stdin/stdout, one line each: prints {@code ready} once the operator has started; {@code heap} answers
 * {@code heap <used after GC> <committed> <rss> <threads>} (bytes); {@code stats} answers
 * {@code stats <database connections opened>}; {@code stop} stops the operator and exits.
 */
public final class OperatorProcess {
  private OperatorProcess() {}

  public static void main(String[] args) throws Exception {
    String master = args[0];
    Timing timing = new Timing(Duration.ofSeconds(Long.parseLong(args[1])), Duration.ofSeconds(Long.parseLong(args[2])),
        Duration.ofSeconds(Long.parseLong(args[3])));
    Config config = master.startsWith("kubeconfig:")
        ? ControlPlane.config(Path.of(master.substring("kubeconfig:".length())))
        : new ConfigBuilder(Config.empty())
            .withMasterUrl(master)
            .withTrustCerts(true)
            .withNamespace(OperatorScenario.NS)
            .withHttp2Disable(true)
            .build();
    KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
    AtomicLong connects = new AtomicLong();
    DatabaseConnector jdbc = DatabaseConnector.jdbc();
    // Counts owner connections: the cluster reconciler opens exactly one per reconcile that reaches the database.
    DatabaseConnector counting = (db, user, password, ca) -> {
      connects.incrementAndGet();
      return jdbc.connect(db, user, password, ca);
    };
    Operator operator = Operators.create(client, Clock.systemUTC(), counting, OperatorDefaults.standard(), timing,
        Set.of(), Optional.empty());
    operator.start();
    System.out.println("ready");
    System.out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      switch (line.trim()) {
        case "heap" -> {
          for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
          }
          var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
          System.out.println("heap " + heap.getUsed() + " " + heap.getCommitted() + " " + rss() + " "
              + ManagementFactory.getThreadMXBean().getThreadCount());
        }
        case "stats" -> System.out.println("stats " + connects.get());
        case "stop" -> {
          operator.stop();
          client.close();
          System.out.println("stopped");
          System.out.flush();
          System.exit(0);
        }
        default -> System.out.println("unknown " + line);
      }
      System.out.flush();
    }
    operator.stop();
    System.exit(0);
  }

  /** Resident set size from {@code /proc/self/status}, in bytes; -1 when not on Linux. */
  static long rss() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (l.startsWith("VmRSS:")) {
          return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (Exception e) {
      return -1;
    }
    return -1;
  }
}
