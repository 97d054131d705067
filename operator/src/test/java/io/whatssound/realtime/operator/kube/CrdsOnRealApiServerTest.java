package io.whatssound.realtime.operator.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionCondition;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.whatssound.realtime.operator.e2e.Examples;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The committed CRDs and the example manifests on a real kube-apiserver: the CRDs are accepted (structural schemas,
 * CEL rules compiled within their cost budget) and established, every example file passes
 * {@code kubectl apply --dry-run=server} verbatim and then applies with nothing pruned, {@code kubectl get rtc,spool}
 * prints the columns, and invalid specs are refused with the API server's message for each rule.
 *
 * <p>The table of invalid specs is derived from the CRDs themselves: one row for every {@code required},
 * {@code minimum}, {@code maximum}, {@code pattern} and {@code enum} under {@code spec}, plus a written row for every
 * CEL rule (a rule added without one fails {@link #everyCelRuleHasARow}). docs/kubernetes.md lists the same
 * constraints per field (CrdReferenceDocTest keeps it equal to the CRDs).
 */
class CrdsOnRealApiServerTest extends SharedControlPlane {
  static final String NS = "listening-party";
  static final Map<String, String> CRDS = Map.of(
      "RealtimeCluster", "realtimeclusters.realtime.whatssound.io-v1.yml",
      "SessionPool", "sessionpools.realtime.whatssound.io-v1.yml");

  @BeforeAll
  static void namespace() {
    if (admin.namespaces().withName(NS).get() == null) {
      cp.kubectl("create", "namespace", NS).orFail();
    }
  }

  @Test
  void theCrdsAreStructuralEstablishedAndTheirNamesAccepted() {
    for (String name : List.of("realtimeclusters.realtime.whatssound.io", "sessionpools.realtime.whatssound.io")) {
      CustomResourceDefinition crd = admin.apiextensions().v1().customResourceDefinitions().withName(name).get();
      Map<String, String> conditions = new LinkedHashMap<>();
      for (CustomResourceDefinitionCondition c : crd.getStatus().getConditions()) {
        conditions.put(c.getType(), c.getStatus() + " " + c.getReason() + ": " + c.getMessage());
      }
      assertTrue(conditions.get("Established").startsWith("True"), name + " " + conditions);
      assertTrue(conditions.get("NamesAccepted").startsWith("True"), name + " " + conditions);
      assertFalse(conditions.containsKey("NonStructuralSchema"), name + " " + conditions);
    }
  }

  @Test
  void everyExampleAppliesVerbatimAfterAServerSideDryRunAndNothingIsPruned() throws IOException {
    assertEquals(Examples.knownYamlFiles(), Examples.yamlFiles(),
        "every YAML of the example is applied here, in the documented order, or checked as an alternative");
    for (String file : Examples.MANIFESTS) {
      String path = Examples.dir().resolve(file).toString();
      Cli.Result dry = cp.kubectl("apply", "--dry-run=server", "-n", NS, "-f", path).orFail();
      assertTrue(dry.out().contains("(server dry run)"), dry.toString());
      cp.kubectl("apply", "-n", NS, "-f", path).orFail();
    }
    // What the API server stored holds every field the files set: a field missing from the schema would be pruned.
    for (ObjectNode doc : Examples.allDocuments()) {
      String kind = doc.path("kind").asText();
      if (!CRDS.containsKey(kind)) {
        continue;
      }
      String json = cp.kubectl("get", kind.toLowerCase() + "/" + doc.at("/metadata/name").asText(), "-n", NS, "-o", "json")
          .orFail().out();
      JsonNode stored = Examples.YAML.readTree(json);
      List<String> pruned = new ArrayList<>();
      missing("spec", doc.path("spec"), stored.path("spec"), pruned);
      assertTrue(pruned.isEmpty(), kind + ": the API server pruned " + pruned);
    }
  }

  /** Fields of {@code sent} that {@code stored} lacks or holds with another value. */
  static void missing(String path, JsonNode sent, JsonNode stored, List<String> out) {
    if (sent.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = sent.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        missing(path + "." + e.getKey(), e.getValue(), stored.path(e.getKey()), out);
      }
    } else if (stored.isMissingNode() || !sent.asText().equals(stored.asText())) {
      out.add(path + " (sent " + sent + ", stored " + stored + ")");
    }
  }

  @Test
  void theCloudNativePgAlternativeIsAValidClusterOfItsCrd() throws IOException {
    // e2e/build.sh takes the Cluster CRD from CloudNativePG's Go module
    Path crd;
    try (var files = Files.list(ControlPlane.binDir().resolve("crds"))) {
      crd = files.filter(f -> f.getFileName().toString().matches("cnpg-v[0-9.]+-clusters\\.yaml")).findFirst()
          .orElseThrow(() -> new AssertionError("no CloudNativePG CRD in " + ControlPlane.binDir() + ": run e2e/build.sh"));
    }
    cp.kubectl("apply", "--server-side", "-f", crd.toString()).orFail();
    cp.awaitEstablished("clusters.postgresql.cnpg.io");
    if (!cp.kubectl("get", "namespace", NS).ok()) {
      cp.kubectl("create", "namespace", NS).orFail();
    }
    Cli.Result dry = cp.kubectl("apply", "--dry-run=server", "-n", NS, "-f",
        Examples.dir().resolve("cloudnative-pg.yaml").toString()).orFail();
    assertTrue(dry.out().contains("cluster.postgresql.cnpg.io/listening-party-db created (server dry run)"), dry.toString());
    // it names the database and Secret the comments tell realtimecluster.yaml to use
    String text = Examples.read("cloudnative-pg.yaml");
    assertTrue(text.contains("host: listening-party-db-rw." + NS + ".svc"), text);
    assertTrue(text.contains("credentialsSecret.name: listening-party-db-superuser"), text);
    assertEquals(Examples.one("RealtimeCluster").at("/spec/database/name").asText(),
        Examples.documents("cloudnative-pg.yaml").get(0).at("/spec/bootstrap/initdb/database").asText());
  }

  @Test
  void kubectlGetPrintsTheColumnsOfBothKinds() {
    applyExamples();
    // The generator orders columns by JSON path (Age first); what matters is that each is there with its value.
    Map<String, String> cluster = table(cp.kubectl("get", "rtc", "listening-party", "-n", NS).orFail().out());
    assertEquals(List.of("NAME", "AGE", "READY", "CONNECTIONS", "ENDPOINT", "LAG"), List.copyOf(cluster.keySet()));
    assertEquals("listening-party", cluster.get("NAME"));
    Map<String, String> pool = table(cp.kubectl("get", "spool", "listening-party-main", "-n", NS).orFail().out());
    assertEquals(List.of("NAME", "AGE", "CLUSTER", "DESIRED", "READY", "CONNECTIONS", "PODS"), List.copyOf(pool.keySet()));
    assertEquals("listening-party", pool.get("CLUSTER"));
    assertEquals("2", pool.get("DESIRED"));
    String both = cp.kubectl("get", "rtc,spool", "-n", NS).orFail().out();
    assertTrue(both.contains("realtimecluster.realtime.whatssound.io/listening-party")
        && both.contains("sessionpool.realtime.whatssound.io/listening-party-main"), both);
  }

  /** The header and first row of kubectl's table output, column by column. */
  static Map<String, String> table(String out) {
    String[] lines = out.split("\n");
    String header = lines[0];
    String row = lines.length > 1 ? lines[1] : "";
    Map<String, String> cells = new LinkedHashMap<>();
    var m = Pattern.compile("\\S+").matcher(header);
    List<int[]> spans = new ArrayList<>();
    List<String> names = new ArrayList<>();
    while (m.find()) {
      names.add(m.group());
      spans.add(new int[] {m.start(), 0});
    }
    for (int i = 0; i < spans.size(); i++) {
      int start = spans.get(i)[0];
      int end = i + 1 < spans.size() ? spans.get(i + 1)[0] : Integer.MAX_VALUE;
      cells.put(names.get(i), start >= row.length() ? "" : row.substring(start, Math.min(end, row.length())).trim());
    }
    return cells;
  }

  /** kubectl apply of the example, as docs/kubernetes.md says (idempotent: tests of this class run in any order). */
  static void applyExamples() {
    for (String file : Examples.MANIFESTS) {
      cp.kubectl("apply", "-n", NS, "-f", Examples.dir().resolve(file).toString()).orFail();
    }
  }

  /** One invalid spec: what it breaks, how, and the words the API server's refusal must contain. */
  record Row(String kind, String rule, Consumer<ObjectNode> change, List<String> expected) {
    @Override
    public String toString() {
      return kind + " " + rule;
    }
  }

  /** The written rows for the CEL rules, keyed by each rule's message. */
  static Map<String, Row> celRows() {
    Map<String, Row> rows = new LinkedHashMap<>();
    rows.put("set auth.jwtSecret, auth.jwksUrl or both", new Row("RealtimeCluster", "CEL auth",
        c -> ((ObjectNode) c.at("/spec/auth")).remove("jwtSecret"),
        List.of("spec.auth", "set auth.jwtSecret, auth.jwksUrl or both")));
    rows.put("choose cdc.allTables or cdc.tables, not both", new Row("RealtimeCluster", "CEL cdc",
        c -> ((ObjectNode) c.at("/spec/cdc")).put("allTables", true).putArray("tables").add("public.votes"),
        List.of("spec.cdc", "choose cdc.allTables or cdc.tables, not both")));
    String retention = "history.retentionHours must not exceed partitions.retentionHours: older messages are dropped "
        + "with their partitions";
    rows.put(retention, new Row("RealtimeCluster", "CEL history retention",
        c -> {
          ((ObjectNode) c.at("/spec")).putObject("partitions").put("retentionHours", 48);
          ((ObjectNode) c.at("/spec")).putObject("history").put("retentionHours", 72).putArray("topics").add("party:*");
        },
        List.of("spec", retention)));
    rows.put("autoscaling.minReplicas must not exceed maxReplicas", new Row("SessionPool", "CEL autoscaling bounds",
        c -> ((ObjectNode) c.at("/spec")).putObject("autoscaling").put("minReplicas", 5).put("maxReplicas", 2)
            .put("targetConnectionsPerPod", 100),
        List.of("spec.autoscaling", "autoscaling.minReplicas must not exceed maxReplicas")));
    return rows;
  }

  static Stream<Row> invalidSpecs() throws IOException {
    List<Row> rows = new ArrayList<>();
    for (var e : CRDS.entrySet()) {
      JsonNode spec = schema(e.getValue()).at("/properties/spec");
      derive(e.getKey(), "spec", spec, rows);
    }
    rows.addAll(celRows().values());
    return rows.stream();
  }

  static JsonNode schema(String file) throws IOException {
    return Examples.YAML.readTree(ControlPlane.repoRoot().resolve("crds").resolve(file).toFile())
        .at("/spec/versions/0/schema/openAPIV3Schema");
  }

  /** Rows for the rules of {@code node} at {@code path} and below (array items and free-form maps are not walked). */
  static void derive(String kind, String path, JsonNode node, List<Row> out) {
    for (JsonNode r : node.path("required")) {
      String field = path + "." + r.asText();
      out.add(new Row(kind, field + " required", doc -> remove(doc, field), List.of(field, "Required value")));
    }
    if (node.has("minimum")) {
      BigDecimal min = node.get("minimum").decimalValue();
      out.add(new Row(kind, path + " minimum", doc -> set(doc, path, min.subtract(BigDecimal.ONE)),
          List.of(path, "should be greater than or equal to " + min.stripTrailingZeros().toPlainString())));
    }
    if (node.has("maximum")) {
      BigDecimal max = node.get("maximum").decimalValue();
      out.add(new Row(kind, path + " maximum", doc -> set(doc, path, max.add(BigDecimal.ONE)),
          List.of(path, "should be less than or equal to " + max.stripTrailingZeros().toPlainString())));
    }
    if (node.has("pattern")) {
      String pattern = node.get("pattern").asText();
      out.add(new Row(kind, path + " pattern", doc -> set(doc, path, "not valid!"),
          List.of(path, "should match '" + pattern + "'")));
    }
    if (node.has("enum")) {
      out.add(new Row(kind, path + " enum", doc -> set(doc, path, "NotAValue"), List.of(path, "Unsupported value")));
    }
    node.path("properties").fields().forEachRemaining(p -> derive(kind, path + "." + p.getKey(), p.getValue(), out));
  }

  /** Sets a value at a dotted path, making the objects on the way. */
  static void set(ObjectNode doc, String path, Object value) {
    String[] parts = path.split("\\.");
    ObjectNode at = doc;
    for (int i = 0; i < parts.length - 1; i++) {
      at = at.has(parts[i]) ? (ObjectNode) at.get(parts[i]) : at.putObject(parts[i]);
    }
    String last = parts[parts.length - 1];
    if (value instanceof BigDecimal d) {
      at.put(last, d.stripTrailingZeros().scale() <= 0 ? d.longValueExact() : d.doubleValue());
    } else {
      at.put(last, value.toString());
    }
  }

  static void remove(ObjectNode doc, String path) {
    int dot = path.lastIndexOf('.');
    set(doc, path.substring(0, dot) + ".placeholder", "x");
    ObjectNode parent = (ObjectNode) doc.at("/" + path.substring(0, dot).replace('.', '/'));
    parent.remove("placeholder");
    parent.remove(path.substring(dot + 1));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidSpecs")
  void anInvalidSpecIsRefusedWithTheRulesMessage(Row row) {
    ObjectNode doc = Examples.one(row.kind()).deepCopy();
    ((ObjectNode) doc.get("metadata")).put("name", "invalid").put("namespace", NS);
    row.change().accept(doc);
    GenericKubernetesResource resource = Serialization.unmarshal(doc.toString(), GenericKubernetesResource.class);
    try {
      admin.resource(resource).dryRun().create();
      fail(row + ": the API server accepted " + doc.get("spec"));
    } catch (KubernetesClientException e) {
      assertEquals(422, e.getCode(), row + ": " + e.getMessage());
      for (String words : row.expected()) {
        assertTrue(e.getMessage().contains(words), row + ": the refusal lacks '" + words + "': " + e.getMessage());
      }
    }
  }

  @Test
  void everyCelRuleHasARow() throws IOException {
    Map<String, Row> rows = celRows();
    for (String file : CRDS.values()) {
      List<String> messages = new ArrayList<>();
      collectRuleMessages(schema(file), messages);
      for (String m : messages) {
        if (!m.contains("immutable")) {
          assertTrue(rows.containsKey(m), "no row for the CEL rule '" + m + "' of " + file);
        }
      }
    }
  }

  static void collectRuleMessages(JsonNode node, List<String> out) {
    for (JsonNode v : node.path("x-kubernetes-validations")) {
      out.add(v.path("message").asText());
    }
    node.path("properties").forEach(p -> collectRuleMessages(p, out));
    if (node.has("items")) {
      collectRuleMessages(node.get("items"), out);
    }
  }

  /** One change an immutability rule refuses: the kind, how to change the created object, the rule's message. */
  record Immutable(String kind, String field, Consumer<Map<String, Object>> change, String message) {
    @Override
    public String toString() {
      return kind + " " + field;
    }
  }

  static Stream<Immutable> immutableFields() {
    return Stream.of(
        new Immutable("RealtimeCluster", "database.name", spec -> part(spec, "database").put("name", "another_db"),
            "database.name is immutable"),
        new Immutable("RealtimeCluster", "cdc.slot (set later)", spec -> part(spec, "cdc").put("slot", "another_slot"),
            "cdc.slot is immutable"),
        new Immutable("RealtimeCluster", "cdc.publication", spec -> part(spec, "cdc").put("publication", "another_pub"),
            "cdc.publication is immutable"),
        new Immutable("RealtimeCluster", "database.runtimeRole (set later)",
            spec -> part(spec, "database").put("runtimeRole", "another_role"), "database.runtimeRole is immutable"),
        new Immutable("SessionPool", "clusterRef", spec -> part(spec, "clusterRef").put("name", "another-cluster"),
            "clusterRef is immutable"));
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> part(Map<String, Object> spec, String key) {
    return (Map<String, Object>) spec.computeIfAbsent(key, k -> new HashMap<String, Object>());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("immutableFields")
  @SuppressWarnings("unchecked")
  void anImmutableFieldRefusesAChangeWithItsMessage(Immutable row) {
    String name = "immutable-" + row.kind().toLowerCase();
    ObjectNode doc = Examples.one(row.kind()).deepCopy();
    ((ObjectNode) doc.get("metadata")).put("name", name).put("namespace", NS);
    var resources = admin.genericKubernetesResources("realtime.whatssound.io/v1alpha1", row.kind()).inNamespace(NS);
    if (resources.withName(name).get() == null) {
      admin.resource(Serialization.unmarshal(doc.toString(), GenericKubernetesResource.class)).create();
    }
    GenericKubernetesResource latest = resources.withName(name).get();
    row.change().accept((Map<String, Object>) latest.getAdditionalProperties().get("spec"));
    try {
      admin.resource(latest).update();
      fail(row + ": the API server accepted a change refused by '" + row.message() + "'");
    } catch (KubernetesClientException e) {
      assertEquals(422, e.getCode(), e.getMessage());
      assertTrue(e.getMessage().contains(row.message()), e.getMessage());
    }
  }
}
