package io.whatssound.realtime.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.whatssound.realtime.operator.OperatorMain;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.operator.reconciler.Timing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code helm lint} and {@code helm template} of {@code helm/realtime-operator} through helm-java (the helm library
 * bundled as a native library from Maven Central: no helm binary, no cluster), and the rendered objects.
 */
class HelmChartTest {
  static final String RELEASE = "rt";
  static final String NS = "realtime-system";

  static Path chart() {
    return Examples.repoRoot().resolve("helm/realtime-operator");
  }

  /** The rendered documents, by "Kind/namespace/name". */
  static Map<String, ObjectNode> render(UnaryOperator<TemplateCommand> values) {
    String out = values.apply(new Helm(chart()).template().withName(RELEASE).withNamespace(NS).withKubeVersion("1.30.0")).call();
    Map<String, ObjectNode> docs = new TreeMap<>();
    try (var parser = Examples.YAML.getFactory().createParser(out)) {
      var it = Examples.YAML.readValues(parser, JsonNode.class);
      while (it.hasNext()) {
        JsonNode n = it.next();
        if (n instanceof ObjectNode o && o.has("kind")) {
          String key = o.path("kind").asText() + "/" + o.at("/metadata/namespace").asText("") + "/"
              + o.at("/metadata/name").asText();
          assertTrue(docs.put(key, o) == null, "rendered twice: " + key);
        }
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return docs;
  }

  static <T> T as(ObjectNode doc, Class<T> type) {
    assertNotNull(doc);
    return Serialization.unmarshal(doc.toString(), type);
  }

  /** "group resource verb" triples, one per verb: easy to compare and to read in a failure. */
  static Set<String> grants(List<PolicyRule> rules) {
    Set<String> out = new TreeSet<>();
    for (PolicyRule r : rules) {
      for (String g : r.getApiGroups()) {
        for (String res : r.getResources()) {
          for (String v : r.getVerbs()) {
            out.add((g.isEmpty() ? "core" : g) + " " + res + " " + v);
          }
        }
      }
    }
    return out;
  }

  /**
   * Exactly what the reconcilers call (read RealtimeClusterReconciler, SessionPoolReconciler, Applier,
   * EventRecorder): informers on the custom resources, Secrets, Deployments, Services, PDBs and runtime Pods;
   * create/update/delete through the Applier (get only to take over an object the caches do not show); status
   * patches and the finalizer; Events; the scale subresource and pod deletion costs (autoscaling).
   */
  static final Set<String> OPERATOR_GRANTS = expand(Map.of(
      "realtime.whatssound.io realtimeclusters", "get list watch patch update",
      "realtime.whatssound.io sessionpools", "get list watch patch update delete",
      "realtime.whatssound.io realtimeclusters/status", "get patch update",
      "realtime.whatssound.io sessionpools/status", "get patch update",
      "realtime.whatssound.io realtimeclusters/finalizers", "update",
      "realtime.whatssound.io sessionpools/finalizers", "update",
      "core secrets", "get list watch create update delete",
      "apps deployments", "get list watch create update delete",
      "core services", "get list watch create update delete",
      "policy poddisruptionbudgets", "get list watch create update delete"));

  static Set<String> expand(Map<String, String> m) {
    Set<String> out = new TreeSet<>();
    m.forEach((k, verbs) -> Stream.of(verbs.split(" ")).forEach(v -> out.add(k + " " + v)));
    Stream.of("get list watch create update delete".split(" "))
        .forEach(v -> out.add("networking.k8s.io networkpolicies " + v));
    out.add("core events create");
    out.add("core events get");
    out.add("core events update");
    out.add("core pods list");
    out.add("core pods watch");
    out.add("core pods patch");
    Stream.of("get patch update".split(" ")).forEach(v -> out.add("realtime.whatssound.io sessionpools/scale " + v));
    return out;
  }

  @Test
  void lintPassesStrict() {
    LintResult lint = new Helm(chart()).lint().strict().call();
    assertFalse(lint.isFailed(), String.join("\n", lint.getMessages()));
  }

  @Test
  void theChartsCrdsAreTheCommittedOnes() throws IOException {
    Path committed = Examples.repoRoot().resolve("crds");
    List<String> names;
    try (Stream<Path> s = Files.list(committed)) {
      names = s.map(p -> p.getFileName().toString()).sorted().toList();
    }
    try (Stream<Path> s = Files.list(chart().resolve("crds"))) {
      assertEquals(names, s.map(p -> p.getFileName().toString()).sorted().toList());
    }
    for (String n : names) {
      assertEquals(Files.readString(committed.resolve(n)), Files.readString(chart().resolve("crds").resolve(n)),
          n + " differs: cp crds/*.yml helm/realtime-operator/crds/");
    }
  }

  @Test
  void defaultsRenderAClusterWideOperatorWithLeaderElection() {
    Map<String, ObjectNode> docs = render(t -> t);
    Set<String> kinds = docs.keySet().stream().map(k -> k.substring(0, k.indexOf('/'))).collect(Collectors.toCollection(TreeSet::new));
    assertTrue(kinds.containsAll(Set.of("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
        "Deployment", "Service")), kinds.toString());
    assertFalse(kinds.contains("ServiceMonitor"), "off by default");

    ClusterRole role = as(docs.get("ClusterRole//rt-realtime-operator"), ClusterRole.class);
    assertEquals(OPERATOR_GRANTS, grants(role.getRules()));
    assertFalse(grants(role.getRules()).stream().anyMatch(g -> g.contains("*")), "no wildcards");
    ObjectNode binding = docs.get("ClusterRoleBinding//rt-realtime-operator");
    assertEquals("rt-realtime-operator", binding.at("/subjects/0/name").asText());
    assertEquals(NS, binding.at("/subjects/0/namespace").asText());
    Role lease = as(docs.get("Role/" + NS + "/rt-realtime-operator-leader-election"), Role.class);
    assertEquals(Set.of("coordination.k8s.io leases create", "coordination.k8s.io leases get",
        "coordination.k8s.io leases update", "coordination.k8s.io leases patch"), grants(lease.getRules()));
    assertNotNull(docs.get("ServiceAccount/" + NS + "/rt-realtime-operator"));

    Deployment d = as(docs.get("Deployment/" + NS + "/rt-realtime-operator"), Deployment.class);
    PodSpec pod = d.getSpec().getTemplate().getSpec();
    assertEquals("rt-realtime-operator", pod.getServiceAccountName());
    assertTrue(pod.getSecurityContext().getRunAsNonRoot());
    assertTrue(pod.getSecurityContext().getRunAsUser() > 0);
    assertEquals("RuntimeDefault", pod.getSecurityContext().getSeccompProfile().getType());
    Container c = pod.getContainers().get(0);
    assertEquals("ghcr.io/whatssound/realtime-operator:0.1.0", c.getImage());
    assertTrue(c.getSecurityContext().getReadOnlyRootFilesystem());
    assertFalse(c.getSecurityContext().getAllowPrivilegeEscalation());
    assertEquals(List.of("ALL"), c.getSecurityContext().getCapabilities().getDrop());
    assertEquals("/tmp", c.getVolumeMounts().get(0).getMountPath());
    assertNotNull(pod.getVolumes().get(0).getEmptyDir(), "a writable /tmp on a read-only root");
    assertEquals(8080, c.getPorts().get(0).getContainerPort());
    assertEquals("health", c.getPorts().get(0).getName());
    assertEquals("/healthz", c.getLivenessProbe().getHttpGet().getPath());
    assertEquals("/readyz", c.getReadinessProbe().getHttpGet().getPath());
    assertEquals("health", c.getReadinessProbe().getHttpGet().getPort().getStrVal());
    assertNotNull(c.getResources().getLimits().get("memory"));
    assertNotNull(c.getResources().getRequests().get("cpu"));

    Map<String, EnvVar> env = c.getEnv().stream().collect(Collectors.toMap(EnvVar::getName, e -> e));
    assertEquals("", env.get("WATCH_NAMESPACES").getValue(), "every namespace");
    assertEquals("metadata.namespace", env.get("OPERATOR_NAMESPACE").getValueFrom().getFieldRef().getFieldPath(),
        "the Lease " + OperatorMain.LEASE_NAME + " lives in the operator's namespace");
    assertEquals("metadata.name", env.get("POD_NAME").getValueFrom().getFieldRef().getFieldPath());
    assertEquals("8080", env.get("HEALTH_PORT").getValue());
    assertEquals(OperatorDefaults.RUNTIME_IMAGE, env.get("RUNTIME_IMAGE").getValue(), "chart and operator agree");
    assertEquals(OperatorDefaults.POOLER_IMAGE, env.get("POOLER_IMAGE").getValue(), "chart and operator agree");
    assertEquals(OperatorDefaults.PULL_POLICY, env.get("RUNTIME_IMAGE_PULL_POLICY").getValue(), "chart and operator agree");
    assertEquals(OperatorDefaults.PULL_POLICY, env.get("POOLER_IMAGE_PULL_POLICY").getValue(), "chart and operator agree");
    assertEquals(String.valueOf(Timing.CONNECTION_POLL.toSeconds()), env.get("CONNECTION_POLL_SECONDS").getValue(),
        "chart and operator agree");
    assertEquals("cluster.local", env.get("CLUSTER_DOMAIN").getValue());
    assertTrue(env.get("JAVA_TOOL_OPTIONS").getValue().contains("-XX:MaxRAMPercentage=75.0"));
    assertTrue(env.get("JAVA_TOOL_OPTIONS").getValue().contains("-Dorg.slf4j.simpleLogger.defaultLogLevel=info"));

    Service metrics = as(docs.get("Service/" + NS + "/rt-realtime-operator-metrics"), Service.class);
    assertEquals("health", metrics.getSpec().getPorts().get(0).getTargetPort().getStrVal());
    assertEquals(d.getSpec().getSelector().getMatchLabels(), metrics.getSpec().getSelector());
  }

  @Test
  void watchedNamespacesGetARoleEachAndNothingClusterWide() {
    Map<String, ObjectNode> docs = render(t -> t.set("watchNamespaces[0]", "party-a").set("watchNamespaces[1]", "party-b")
        .set("leaderElection.enabled", false).set("logLevel", "debug")
        .set("images.runtime.repository", "registry.local/rt").set("images.runtime.tag", "1.2.3")
        .set("images.runtime.pullPolicy", "Always").set("images.pgbouncer.pullPolicy", "Never")
        .set("connectionPollSeconds", 10));
    assertTrue(docs.keySet().stream().noneMatch(k -> k.startsWith("ClusterRole")), docs.keySet().toString());
    for (String ns : List.of("party-a", "party-b")) {
      assertEquals(OPERATOR_GRANTS, grants(as(docs.get("Role/" + ns + "/rt-realtime-operator"), Role.class).getRules()));
      RoleBinding b = as(docs.get("RoleBinding/" + ns + "/rt-realtime-operator"), RoleBinding.class);
      assertEquals(NS, b.getSubjects().get(0).getNamespace());
    }
    assertFalse(docs.containsKey("Role/" + NS + "/rt-realtime-operator-leader-election"));
    Container c = as(docs.get("Deployment/" + NS + "/rt-realtime-operator"), Deployment.class)
        .getSpec().getTemplate().getSpec().getContainers().get(0);
    Map<String, String> env = new TreeMap<>();
    c.getEnv().forEach(e -> env.put(e.getName(), e.getValue()));
    assertEquals("party-a,party-b", env.get("WATCH_NAMESPACES"));
    assertFalse(env.containsKey("OPERATOR_NAMESPACE"), "no Lease without leader election");
    assertEquals("registry.local/rt:1.2.3", env.get("RUNTIME_IMAGE"));
    assertEquals("Always", env.get("RUNTIME_IMAGE_PULL_POLICY"));
    assertEquals("Never", env.get("POOLER_IMAGE_PULL_POLICY"));
    assertEquals("10", env.get("CONNECTION_POLL_SECONDS"));
    assertTrue(env.get("JAVA_TOOL_OPTIONS").contains("defaultLogLevel=debug"));
  }

  @Test
  void theServiceMonitorIsOptional() {
    Map<String, ObjectNode> docs = render(t -> t.set("metrics.serviceMonitor.enabled", true)
        .set("metrics.serviceMonitor.labels.release", "prometheus"));
    ObjectNode sm = docs.get("ServiceMonitor/" + NS + "/rt-realtime-operator");
    assertNotNull(sm, docs.keySet().toString());
    assertEquals("http-metrics", sm.at("/spec/endpoints/0/port").asText());
    assertEquals("/metrics", sm.at("/spec/endpoints/0/path").asText());
    assertEquals("prometheus", sm.at("/metadata/labels/release").asText());
  }

  @Test
  void theValuesSchemaRejectsMistakes() {
    for (var bad : List.<UnaryOperator<TemplateCommand>>of(
        t -> t.set("logLevel", "loud"),
        t -> t.set("watchNamespaces[0]", "Not_A_Namespace"),
        t -> t.set("images.operator.pullPolicy", "Sometimes"),
        t -> t.set("images.runtime.pullPolicy", "Sometimes"),
        t -> t.set("images.pgbouncer.pullPolicy", "ifnotpresent"),
        t -> t.set("connectionPollSeconds", 0),
        t -> t.set("securityContext.readOnlyRootFilesystem", false),
        t -> t.set("replicas", 2))) {
      assertThrows(RuntimeException.class, () -> render(bad));
    }
  }

  @Test
  void theDocsNameEveryImageValueAndTheOperatorSettings() throws IOException {
    String doc = Files.readString(Examples.repoRoot().resolve("docs/kubernetes.md"));
    JsonNode values = Examples.YAML.readTree(chart().resolve("values.yaml").toFile());
    values.path("images").fieldNames().forEachRemaining(image -> {
      String row = doc.lines().filter(l -> l.startsWith("| `images." + image + ".{")).findFirst()
          .orElseThrow(() -> new AssertionError("docs/kubernetes.md has no row for images." + image));
      values.path("images").path(image).fieldNames().forEachRemaining(field ->
          assertTrue(row.substring(0, row.indexOf("}`")).contains(field), "images." + image + "." + field + " in " + row));
    });
    for (String variable : List.of("RUNTIME_IMAGE_PULL_POLICY", "POOLER_IMAGE_PULL_POLICY", "CONNECTION_POLL_SECONDS")) {
      assertTrue(doc.contains("`" + variable + "`"), variable);
    }
    assertTrue(doc.contains("`connectionPollSeconds`"));
  }

  @Test
  void notesSayWhatToDoNext() {
    // helm template does not render NOTES.txt; lint renders it, and its text is checked here.
    String notes;
    try {
      notes = Files.readString(chart().resolve("templates/NOTES.txt"));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    for (String step : List.of("rollout status", "realtimecluster.yaml", "schema.sql", "--for=condition=Ready",
        "status.endpoints.websocket", "port-forward", "party.mjs")) {
      assertTrue(notes.contains(step), step);
    }
    Examples.MANIFESTS.forEach(m -> assertTrue(notes.contains("examples/listening-party/" + m), m));
  }
}
