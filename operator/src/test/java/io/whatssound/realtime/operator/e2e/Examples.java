package io.whatssound.realtime.operator.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The files a user copies from {@code examples/listening-party/}, read as they are committed. Tests may change
 * the parsed copies (never the files) to point at their own database.
 */
public final class Examples {
  public static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  /** The Kubernetes YAML of the example, in the order a user applies it. */
  public static final List<String> MANIFESTS = List.of("secrets.yaml", "postgres.yaml", "realtimecluster.yaml",
      "sessionpool.yaml");
  /** Example files applied instead of one of {@link #MANIFESTS}: the database as a CloudNativePG Cluster. */
  public static final List<String> ALTERNATIVES = List.of("cloudnative-pg.yaml");

  /** Every YAML file of the example that a test checks: {@link #MANIFESTS} and {@link #ALTERNATIVES}, sorted. */
  public static List<String> knownYamlFiles() {
    List<String> all = new ArrayList<>(MANIFESTS);
    all.addAll(ALTERNATIVES);
    return all.stream().sorted().toList();
  }

  private Examples() {}

  public static Path dir() {
    return Path.of(System.getProperty("examples.listeningParty", "../examples/listening-party")).toAbsolutePath()
        .normalize();
  }

  public static Path repoRoot() {
    return dir().getParent().getParent();
  }

  /** Every YAML document of a file, as JSON trees. */
  public static List<ObjectNode> documents(String file) {
    try (var parser = YAML.getFactory().createParser(dir().resolve(file).toFile())) {
      List<ObjectNode> out = new ArrayList<>();
      var it = YAML.readValues(parser, JsonNode.class);
      while (it.hasNext()) {
        JsonNode n = it.next();
        if (n != null && !n.isNull() && !n.isMissingNode()) {
          out.add((ObjectNode) n);
        }
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every document of every manifest, in apply order. */
  public static List<ObjectNode> allDocuments() {
    List<ObjectNode> out = new ArrayList<>();
    MANIFESTS.forEach(f -> out.addAll(documents(f)));
    return out;
  }

  public static ObjectNode one(String kind) {
    return allDocuments().stream().filter(d -> kind.equals(d.path("kind").asText())).findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " in " + dir()));
  }

  public static ObjectNode secret(String name) {
    return allDocuments().stream()
        .filter(d -> "Secret".equals(d.path("kind").asText()) && name.equals(d.at("/metadata/name").asText()))
        .findFirst().orElseThrow(() -> new AssertionError("no Secret " + name + " in " + dir()));
  }

  /** The YAML files in the example folder (not in client/). */
  public static List<String> yamlFiles() {
    try (Stream<Path> s = Files.list(dir())) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml") || n.endsWith(".yml")).sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String read(String file) {
    try {
      return Files.readString(dir().resolve(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
