package io.whatssound.realtime.operator.e2e;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.whatssound.realtime.operator.kube.ControlPlane;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@link ListeningPartyScenario} on the single-node cluster of {@code e2e/cluster.sh}: Kubernetes built from source,
 * containerd and runc from Debian, images built locally (e2e/images.sh) and imported, no Docker and no registry. This
 * host is the node, so it reaches Services at their cluster IPs (kube-proxy's rules) and pods at their IPs.
 *
 * <p>{@code e2e/run.sh cluster} builds everything, starts the cluster, runs this class with
 * {@code -De2e.cluster.kubeconfig=<admin kubeconfig>} and tears the cluster down; without that property every step
 * is skipped.
 */
class SingleNodeClusterTest extends ListeningPartyScenario {
  static final String KUBECONFIG = System.getProperty("e2e.cluster.kubeconfig", "");
  static final String TAG = "e2e";

  @Override
  protected ScenarioCluster open() {
    assumeTrue(!KUBECONFIG.isBlank(), "the single-node cluster scenario runs from e2e/run.sh cluster (needs root); "
        + "set -De2e.cluster.kubeconfig to an admin kubeconfig of e2e/cluster.sh to run it here");
    Path kubeconfig = Path.of(KUBECONFIG);
    assumeTrue(Files.isRegularFile(kubeconfig), "no kubeconfig " + kubeconfig + ": run e2e/cluster.sh up");
    return new ScenarioCluster() {
      @Override
      public String description() {
        return "single-node Kubernetes " + ControlPlane.version() + " from e2e/cluster.sh (containerd, runc, cgroup v1)";
      }

      @Override
      public Path kubeconfig() {
        return kubeconfig;
      }

      @Override
      public Path tools() {
        return ControlPlane.binDir();
      }

      @Override
      public List<String> chartImages() {
        return List.of(
            "--set", "images.operator.repository=localhost/realtime-operator", "--set", "images.operator.tag=" + TAG,
            "--set", "images.operator.pullPolicy=Never",
            "--set", "images.runtime.repository=localhost/realtime-runtime", "--set", "images.runtime.tag=" + TAG,
            "--set", "images.runtime.pullPolicy=Never",
            "--set", "images.pgbouncer.repository=localhost/pgbouncer", "--set", "images.pgbouncer.tag=" + TAG,
            "--set", "images.pgbouncer.pullPolicy=Never");
      }

      @Override
      public String[] replaceImage(String image) {
        return image.startsWith("postgres:") ? new String[] {"localhost/postgres:" + TAG, "Never"} : null;
      }

      @Override
      public Address service(String namespace, String name, int port) {
        return new Address(kubectl("-n", namespace, "get", "service", name, "-o", "jsonpath={.spec.clusterIP}").orFail()
            .out().trim(), port, null);
      }

      @Override
      public Address pod(String namespace, String name, int port) {
        return new Address(kubectl("-n", namespace, "get", "pod", name, "-o", "jsonpath={.status.podIP}").orFail()
            .out().trim(), port, null);
      }

      @Override
      public boolean servicesSpread() {
        return true;
      }
    };
  }
}
