package io.whatssound.realtime.operator.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.whatssound.realtime.operator.Await;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code helm install}, {@code helm upgrade} and {@code helm uninstall} of the chart with the real helm against a
 * real API server of its own (a new cluster, as a first install meets it): the chart's CRDs are installed, every object
 * is accepted (the API server validates them, no kubelet runs them), the CRD upgrade step of docs/kubernetes.md works
 * on CRDs helm installed, an upgrade from cluster-wide to one watched namespace swaps the ClusterRole for a Role, a
 * second release next to the first installs with {@code --skip-crds}, and uninstall removes what install made.
 */
@RealApiServer
class HelmReleaseTest {
  static final String NS = "realtime-helm";
  static final String RELEASE = "realtime";
  static final String NAME = "realtime-realtime-operator";
  static ControlPlane cp;
  static KubernetesClient admin;

  @BeforeAll
  static void controlPlane() {
    cp = ControlPlane.startNew();
    admin = cp.admin();
  }

  @AfterAll
  static void close() {
    if (admin != null) {
      admin.close();
    }
    if (cp != null) {
      cp.close();
    }
  }

  @Test
  void installUpgradeAndUninstall() {
    String chart = ControlPlane.chart().toString();
    Cli.Result install = cp.helm("install", RELEASE, chart, "-n", NS, "--create-namespace",
        "--set", "images.operator.tag=0.1.0-test").orFail();
    assertTrue(install.out().contains("STATUS: deployed"), install.toString());
    Deployment d = admin.apps().deployments().inNamespace(NS).withName(NAME).get();
    assertNotNull(d, "the operator Deployment exists (no pod runs: there is no kubelet)");
    assertEquals("ghcr.io/whatssound/realtime-operator:0.1.0-test", d.getSpec().getTemplate().getSpec().getContainers()
        .get(0).getImage());
    assertNotNull(admin.serviceAccounts().inNamespace(NS).withName(NAME).get());
    assertNotNull(admin.rbac().clusterRoles().withName(NAME).get());
    assertNotNull(admin.rbac().clusterRoleBindings().withName(NAME).get());
    assertNotNull(admin.rbac().roles().inNamespace(NS).withName(NAME + "-leader-election").get());
    assertNotNull(admin.services().inNamespace(NS).withName(NAME + "-metrics").get(), "the metrics Service");
    assertNotNull(admin.apiextensions().v1().customResourceDefinitions().withName("realtimeclusters.realtime.whatssound.io")
        .get(), "the chart's CRDs are installed");

    // docs/kubernetes.md, "Upgrades": CRDs first, with kubectl, over the ones helm installed
    cp.kubectl("apply", "--server-side", "--force-conflicts", "-f", ControlPlane.repoRoot().resolve("crds").toString())
        .orFail();
    // another release beside this one (its own namespace) leaves the CRDs to the first
    Cli.Result second = cp.helm("install", "second", chart, "-n", "realtime-second", "--create-namespace", "--skip-crds",
        "--set", "watchNamespaces={realtime-second}").orFail();
    assertTrue(second.out().contains("STATUS: deployed"), second.toString());
    cp.helm("uninstall", "second", "-n", "realtime-second").orFail();

    if (admin.namespaces().withName("party-helm").get() == null) {
      cp.kubectl("create", "namespace", "party-helm").orFail();
    }
    cp.helm("upgrade", RELEASE, chart, "-n", NS, "--reuse-values", "--set", "watchNamespaces={party-helm}",
        "--set", "logLevel=debug").orFail();
    Deployment upgraded = admin.apps().deployments().inNamespace(NS).withName(NAME).get();
    assertEquals("party-helm", env(upgraded, "WATCH_NAMESPACES"));
    assertTrue(env(upgraded, "JAVA_TOOL_OPTIONS").contains("defaultLogLevel=debug"), env(upgraded, "JAVA_TOOL_OPTIONS"));
    assertNull(admin.rbac().clusterRoles().withName(NAME).get(), "no cluster-wide role once namespaces are listed");
    assertNotNull(admin.rbac().roles().inNamespace("party-helm").withName(NAME).get());
    assertTrue(cp.helm("status", RELEASE, "-n", NS).orFail().out().contains("REVISION: 2"));

    cp.helm("uninstall", RELEASE, "-n", NS, "--wait", "--timeout", "60s").orFail();
    Await.until(Duration.ofSeconds(30), "the release's objects to go", () ->
        admin.apps().deployments().inNamespace(NS).withName(NAME).get() == null
            && admin.serviceAccounts().inNamespace(NS).withName(NAME).get() == null
            && admin.rbac().roles().inNamespace("party-helm").withName(NAME).get() == null);
    assertTrue(cp.helm("list", "-n", NS, "-q").orFail().out().isBlank());
  }

  static String env(Deployment d, String name) {
    return d.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().stream()
        .filter(e -> name.equals(e.getName())).map(EnvVar::getValue).findFirst().orElse(null);
  }
}
