package io.whatssound.realtime.operator;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Example and invalid custom resources against the generated CRDs' openAPIV3Schema (the mock server does not validate). */
class CrdSchemaTest {
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  static JsonSchema schema(String crd) throws IOException {
    JsonNode root = YAML.readTree(Path.of(System.getProperty("crds.committed", "../crds")).resolve(crd).toFile());
    JsonNode openApi = root.at("/spec/versions/0/schema/openAPIV3Schema");
    return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4).getSchema(openApi);
  }

  static ObjectNode example(String file) throws IOException {
    return (ObjectNode) YAML.readTree(Path.of(System.getProperty("examples.dir", "src/test/resources/examples"))
        .resolve(file).toFile());
  }

  static final String CLUSTER = "realtimeclusters.realtime.whatssound.io-v1.yml";
  static final String POOL = "sessionpools.realtime.whatssound.io-v1.yml";

  @Test
  void examplesAreValid() throws IOException {
    Set<ValidationMessage> c = schema(CLUSTER).validate(example("realtimecluster.yaml"));
    assertTrue(c.isEmpty(), c.toString());
    Set<ValidationMessage> p = schema(POOL).validate(example("sessionpool.yaml"));
    assertTrue(p.isEmpty(), p.toString());
  }

  @Test
  void invalidClustersAreRejected() throws IOException {
    JsonSchema s = schema(CLUSTER);
    ObjectNode noHost = example("realtimecluster.yaml");
    ((ObjectNode) noHost.at("/spec/database")).remove("host");
    assertFalse(s.validate(noHost).isEmpty(), "database.host is required");
    ObjectNode badPolicy = example("realtimecluster.yaml");
    ((ObjectNode) badPolicy.at("/spec")).put("reclaimPolicy", "Destroy");
    assertFalse(s.validate(badPolicy).isEmpty(), "reclaimPolicy is Retain or Delete");
    ObjectNode badSlot = example("realtimecluster.yaml");
    ((ObjectNode) badSlot.at("/spec/cdc")).put("slot", "Bad-Slot");
    assertFalse(s.validate(badSlot).isEmpty(), "slot must be a PostgreSQL identifier");
    ObjectNode badMode = example("realtimecluster.yaml");
    ((ObjectNode) badMode.at("/spec/pooler")).put("poolMode", "nope");
    assertFalse(s.validate(badMode).isEmpty());
    ObjectNode badPort = example("realtimecluster.yaml");
    ((ObjectNode) badPort.at("/spec/database")).put("port", 70000);
    assertFalse(s.validate(badPort).isEmpty());
  }

  @Test
  void invalidPoolsAreRejected() throws IOException {
    JsonSchema s = schema(POOL);
    ObjectNode noRef = example("sessionpool.yaml");
    ((ObjectNode) noRef.at("/spec")).remove("clusterRef");
    assertFalse(s.validate(noRef).isEmpty(), "clusterRef is required");
    ObjectNode negative = example("sessionpool.yaml");
    ((ObjectNode) negative.at("/spec")).put("replicas", -1);
    assertFalse(s.validate(negative).isEmpty());
    ObjectNode heap = example("sessionpool.yaml");
    ((ObjectNode) heap.at("/spec")).put("heapPercent", 99);
    assertFalse(s.validate(heap).isEmpty());
    ObjectNode pull = example("sessionpool.yaml");
    ((ObjectNode) pull.at("/spec")).put("imagePullPolicy", "Sometimes");
    assertFalse(s.validate(pull).isEmpty(), "imagePullPolicy is Always, IfNotPresent or Never");
    ((ObjectNode) pull.at("/spec")).put("imagePullPolicy", "Always");
    assertTrue(s.validate(pull).isEmpty());
  }

  @Test
  void immutabilityRulesArePresent() throws IOException {
    String crd = java.nio.file.Files.readString(Path.of(System.getProperty("crds.committed", "../crds")).resolve(CLUSTER));
    assertTrue(crd.contains("database.name is immutable"));
    assertTrue(crd.contains("cdc.slot is immutable"));
  }
}
