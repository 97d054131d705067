package io.whatssound.realtime.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The field reference in docs/kubernetes.md is generated from the committed CRDs (which the Java types generate, see
 * CrdDriftTest): field, type, default and constraints come from the openAPIV3Schema; only the "meaning" column is
 * written by hand. A field added, removed or changed in the types fails this test until the doc is regenerated:
 * {@code ./mvnw -B -q verify -pl realtime-postgres,operator -DskipNodeTests -Dtest=CrdReferenceDocTest -Ddocs.update=true}
 * (meanings are kept; new fields get "TODO", which fails the test until written).
 */
class CrdReferenceDocTest {
  static final Map<String, String> CRDS = new LinkedHashMap<>();

  static {
    CRDS.put("RealtimeCluster", "realtimeclusters.realtime.whatssound.io-v1.yml");
    CRDS.put("SessionPool", "sessionpools.realtime.whatssound.io-v1.yml");
  }
  /** Kubernetes types embedded in a spec: named, not expanded (their reference is Kubernetes'). */
  static final Map<String, String> KUBERNETES_TYPES = Map.of(
      "SessionPool spec.resources", "core/v1 ResourceRequirements",
      "SessionPool spec.placement.tolerations", "[]core/v1 Toleration",
      "SessionPool spec.placement.topologySpreadConstraints", "[]core/v1 TopologySpreadConstraint",
      "RealtimeCluster spec.pooler.resources", "core/v1 ResourceRequirements",
      "RealtimeCluster spec.pooler.placement.tolerations", "[]core/v1 Toleration",
      "RealtimeCluster spec.pooler.placement.topologySpreadConstraints", "[]core/v1 TopologySpreadConstraint");

  record Row(String field, String type, String dflt, String constraints) {}

  static Path doc() {
    return Examples.repoRoot().resolve("docs/kubernetes.md");
  }

  static List<Row> rows(String kind) throws IOException {
    JsonNode root = Examples.YAML.readTree(Path.of(System.getProperty("crds.committed", "../crds"))
        .resolve(CRDS.get(kind)).toFile());
    JsonNode schema = root.at("/spec/versions/0/schema/openAPIV3Schema");
    List<Row> out = new ArrayList<>();
    walk(kind, "spec", schema.path("properties").path("spec"), true, out);
    walk(kind, "status", schema.path("properties").path("status"), false, out);
    return out;
  }

  static void walk(String kind, String path, JsonNode node, boolean required, List<Row> out) {
    String k8s = KUBERNETES_TYPES.get(kind + " " + path);
    List<String> c = new ArrayList<>();
    if (required && !path.equals("spec") && !path.equals("status")) {
      c.add("required");
    }
    if (node.has("pattern")) {
      c.add("pattern `" + node.get("pattern").asText() + "`");
    }
    if (node.has("minimum")) {
      c.add("min " + node.get("minimum").asLong());
    }
    if (node.has("maximum")) {
      c.add("max " + node.get("maximum").asLong());
    }
    if (node.has("enum")) {
      List<String> e = new ArrayList<>();
      node.get("enum").forEach(v -> e.add(v.asText()));
      c.add("one of " + String.join(", ", e));
    }
    node.path("x-kubernetes-validations").forEach(v -> c.add("rule: " + v.path("message").asText()));
    String type = k8s != null ? k8s : type(node);
    if (!path.equals("spec") && !path.equals("status")) {
      out.add(new Row(path, type, node.has("default") ? "`" + node.get("default").asText() + "`" : "",
          String.join("; ", c)));
    }
    if (k8s != null) {
      return;
    }
    JsonNode props = node.has("properties") ? node.get("properties")
        : node.path("items").path("properties");
    JsonNode req = node.has("properties") ? node.path("required") : node.path("items").path("required");
    Set<String> requiredNames = new HashSet<>();
    req.forEach(r -> requiredNames.add(r.asText()));
    String prefix = node.has("items") ? path + "[]" : path;
    var names = new ArrayList<String>();
    props.fieldNames().forEachRemaining(names::add);
    names.sort(null);
    for (String n : names) {
      walk(kind, prefix + "." + n, props.get(n), requiredNames.contains(n), out);
    }
  }

  static String type(JsonNode n) {
    String t = n.path("type").asText("");
    if (t.equals("array")) {
      return "[]" + type(n.path("items"));
    }
    if (t.equals("object") && n.has("additionalProperties")) {
      return "map[string]" + type(n.get("additionalProperties"));
    }
    if (n.path("x-kubernetes-int-or-string").asBoolean()) {
      return "int or string";
    }
    return t.isEmpty() ? "any" : t;
  }

  static String cell(String s) {
    return s.replace("|", "\\|");
  }

  /** The generated tables, keeping the meanings already written in {@code meanings}. */
  static String tables(Map<String, String> meanings) throws IOException {
    StringBuilder b = new StringBuilder();
    for (String kind : CRDS.keySet()) {
      b.append("\n### ").append(kind).append("\n\n");
      b.append("| field | type | default | constraints | meaning |\n|---|---|---|---|---|\n");
      for (Row r : rows(kind)) {
        String key = kind + " " + r.field();
        b.append("| `").append(r.field()).append("` | ").append(cell(r.type())).append(" | ").append(cell(r.dflt()))
            .append(" | ").append(cell(r.constraints())).append(" | ").append(meanings.getOrDefault(key, "TODO"))
            .append(" |\n");
      }
    }
    return b.append('\n').toString();
  }

  static final String START = "<!-- crd-reference:start (generated by CrdReferenceDocTest; edit only the meaning column) -->";
  static final String END = "<!-- crd-reference:end -->";

  /** kind + field -> meaning, from the doc's current tables. */
  static Map<String, String> meanings(String section) {
    Map<String, String> m = new LinkedHashMap<>();
    String kind = null;
    for (String line : section.split("\n")) {
      if (line.startsWith("### ")) {
        kind = line.substring(4).trim();
      } else if (line.startsWith("| `") && kind != null) {
        String field = line.substring(3, line.indexOf('`', 3));
        String meaning = line.substring(line.lastIndexOf(" | ") + 3, line.length() - 2).trim();
        m.put(kind + " " + field, meaning);
      }
    }
    return m;
  }

  @Test
  void theFieldReferenceMatchesTheCrds() throws IOException {
    String text = Files.readString(doc());
    int s = text.indexOf(START);
    int e = text.indexOf(END);
    assertTrue(s >= 0 && e > s, "docs/kubernetes.md lacks the markers " + START + " ... " + END);
    String current = text.substring(s + START.length(), e);
    String generated = tables(meanings(current));
    if (Boolean.getBoolean("docs.update")) {
      Files.writeString(doc(), text.substring(0, s + START.length()) + generated + text.substring(e));
      current = generated;
    }
    assertEquals(generated, current, "docs/kubernetes.md's field reference is out of date; regenerate it with "
        + "-Dtest=CrdReferenceDocTest -Ddocs.update=true and write the meaning of new fields");
    assertTrue(!current.contains("| TODO |"), "write the meaning of every field (TODO rows in docs/kubernetes.md)");
  }
}
