package io.whatssound.realtime.operator.reconciler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.whatssound.realtime.operator.Await;
import io.whatssound.realtime.operator.Fixtures;
import io.whatssound.realtime.operator.Operators;
import io.whatssound.realtime.operator.RuntimePods;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.metrics.ConnectionMeter;
import io.whatssound.realtime.operator.metrics.OperatorMetrics;
import io.whatssound.realtime.operator.model.Names;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.postgres.DrainSummary;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * How a runtime pod's drain ended, from the termination message its container left in the pod's last status; and,
 * through the operator on the mock API server, a pod deleted after a drain that overran is counted and reported.
 */
@EnableKubernetesMockClient(crud = true)
class DrainWatchTest {
  static final Duration WAIT = Duration.ofSeconds(30);
  static KubernetesClient client;

  static Pod stopped(String name, Integer exitCode, String reason, String message) {
    Pod pod = RuntimePods.pod("drained", "live", name, "127.0.0.1", false);
    pod.getStatus().setContainerStatuses(List.of(new ContainerStatusBuilder().withName(DrainWatch.RUNTIME_CONTAINER)
        .withNewState().withNewTerminated().withExitCode(exitCode).withReason(reason).withMessage(message)
        .endTerminated().endState().build()));
    return pod;
  }

  @Test
  void theOutcomeComesFromTheRuntimesTerminationMessage() {
    DrainWatch.Ending ok = DrainWatch.ending(stopped("a", 0, "Completed",
        new DrainSummary(40, 3_100, 15_000, 0).line())).orElseThrow();
    assertEquals(DrainWatch.Outcome.OK, ok.outcome());

    DrainWatch.Ending overran = DrainWatch.ending(stopped("b", 0, "Completed",
        new DrainSummary(900, 15_000, 15_000, 12).line())).orElseThrow();
    assertEquals(DrainWatch.Outcome.OVERRAN, overran.outcome());
    assertTrue(overran.message().startsWith("12 of 900 sockets were still open when the 15000 ms drain window ended"),
        overran.message());

    DrainWatch.Ending killed = DrainWatch.ending(stopped("c", 137, "Error", "")).orElseThrow();
    assertEquals(DrainWatch.Outcome.KILLED, killed.outcome());
  }

  @Test
  void aPodThatNeverStoppedOrLeftNoSummaryIsNotCounted() {
    assertEquals(Optional.empty(), DrainWatch.ending(RuntimePods.pod("drained", "live", "d", "127.0.0.1", true)));
    assertEquals(Optional.empty(), DrainWatch.ending(stopped("e", 1, "Error", "Invalid configuration")));
  }

  @Test
  void theOperatorCountsADeletedPodsDrainAndReportsAnOverrunAsAnEvent() throws Exception {
    Fixtures.installCrds(client);
    OperatorMetrics metrics = new OperatorMetrics(new SimpleMeterRegistry());
    DatabaseConnector none = (db, user, password, ca) -> {
      throw new SQLException("no database in this test", "08001");
    };
    try (RuntimePods.MetricsServer runtime = RuntimePods.MetricsServer.start()) {
      Operator operator = Operators.create(client, Clock.systemUTC(), none, OperatorDefaults.standard(),
          new Timing(Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(30)),
          Set.of(), Optional.empty(), metrics, new ConnectionMeter(runtime.port(), Duration.ofSeconds(2), metrics));
      operator.start();
      try {
        client.resource(Fixtures.newCluster("live", "live", 5432)).create();
        client.resource(new SecretBuilder().withNewMetadata().withName(Names.runtimeConfigSecret("live"))
            .withNamespace(Fixtures.NS).withLabels(Names.clusterLabels("live", "runtime")).endMetadata()
            .withStringData(Map.of("REALTIME_PORT", "4000")).build()).create();
        client.resource(Fixtures.newPool("drained", "live", 2)).create();
        Await.until(WAIT, "the pool reconciled", () -> client.apps().deployments().inNamespace(Fixtures.NS)
            .withName("drained").get());
        for (Pod pod : new Pod[] {
            stopped("1", 0, "Completed", new DrainSummary(10, 900, 15_000, 0).line()),
            stopped("2", 0, "Completed", new DrainSummary(900, 15_000, 15_000, 12).line())}) {
          Pod created = client.resource(pod).create();
          created.setStatus(pod.getStatus());
          client.resource(created).updateStatus();
        }
        // the informer must have seen the last status before the pods go, as it sees the kubelet's
        Await.until(WAIT, "the pods' last status in the API", () -> client.pods().inNamespace(Fixtures.NS)
            .withName("drained-2").get().getStatus().getContainerStatuses().size() == 1);
        client.pods().inNamespace(Fixtures.NS).withName("drained-1").delete();
        client.pods().inNamespace(Fixtures.NS).withName("drained-2").delete();

        Await.until(WAIT, "both drains counted", () -> metrics.drains(Fixtures.NS, "drained", "ok") == 1
            && metrics.drains(Fixtures.NS, "drained", "overran") == 1);
        Await.until(WAIT, "the overrun as a Warning Event on the pool", () -> client.v1().events()
            .inNamespace(Fixtures.NS).list().getItems().stream().anyMatch(e -> "DrainOverran".equals(e.getReason())
                && "Warning".equals(e.getType()) && "SessionPool".equals(e.getInvolvedObject().getKind())
                && e.getMessage().startsWith("pod drained-2: 12 of 900 sockets were still open")));
        assertEquals(0, metrics.drains(Fixtures.NS, "drained", "killed"));
      } finally {
        operator.stop();
      }
    }
  }
}
