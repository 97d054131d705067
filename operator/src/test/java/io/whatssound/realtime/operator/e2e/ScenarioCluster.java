package io.whatssound.realtime.operator.e2e;

import io.whatssound.realtime.operator.kube.Cli;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A Kubernetes cluster that {@link ListeningPartyScenario} runs on: its admin kubeconfig, the images to test, and how a
 * process on this host reaches a Service or a pod inside it (directly on a node of its own, through a port-forward
 * into a cluster in Docker).
 */
public interface ScenarioCluster extends AutoCloseable {
  /** A host and port of this machine that leads to a port of a Service or a pod; closing it ends a port-forward. */
  record Address(String host, int port, AutoCloseable forward) implements AutoCloseable {
    public String http() {
      return "http://" + host + ":" + port;
    }

    @Override
    public void close() throws Exception {
      if (forward != null) {
        forward.close();
      }
    }
  }

  /** What the scenario runs on, in its report ("single-node cluster built from source", "K3s v1.31 in Docker"). */
  String description();

  Path kubeconfig();

  /** The folder holding the kubectl and helm binaries the scenario runs, as a user would. */
  Path tools();

  /** {@code --set} arguments that point the chart at the images under test (operator, runtime, pooler). */
  List<String> chartImages();

  /**
   * The image a container of an example manifest runs instead of {@code image} (for example the official
   * {@code postgres:17}), and its pull policy; {@code null} leaves the manifest as committed.
   */
  String[] replaceImage(String image);

  /** How this host reaches port {@code port} of Service {@code name}. */
  Address service(String namespace, String name, int port);

  /** How this host reaches port {@code port} of pod {@code name}. */
  Address pod(String namespace, String name, int port);

  /**
   * Whether connections to a Service spread over its pods (a host on the cluster's network); false where they go
   * through a port-forward, which picks one pod.
   */
  boolean servicesSpread();

  default Cli.Result kubectl(String... args) {
    return Cli.run(tools().resolve("kubectl").toString(), List.of(args), kubeconfig(), Duration.ofMinutes(11));
  }

  default Cli.Result helm(String... args) {
    return Cli.run(tools().resolve("helm").toString(), List.of(args), kubeconfig(), Duration.ofMinutes(11));
  }

  @Override
  default void close() {}
}
