package io.whatssound.realtime.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whatssound.realtime.operator.model.PgBouncerModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The cross-references in the example's manifests a user would otherwise find broken only at apply time. The real API
 * server checks the manifests themselves (kube.CrdsOnRealApiServerTest: a server-side dry run, then apply).
 */
class ExampleManifestsTest {
  static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void customResourcesNameTheApiVersionAndNoNamespace() {
    int checked = 0;
    for (ObjectNode doc : Examples.allDocuments()) {
      String kind = doc.path("kind").asText();
      if (kind.equals("RealtimeCluster") || kind.equals("SessionPool")) {
        assertEquals("realtime.whatssound.io/v1alpha1", doc.path("apiVersion").asText());
        assertTrue(doc.at("/metadata/namespace").isMissingNode(), "applied with kubectl -n, so no namespace in the file");
        checked++;
      }
    }
    assertEquals(2, checked);
  }

  @Test
  void theClusterReferencesTheSecretsTheExampleShipsAndThePoolTheCluster() {
    ObjectNode c = Examples.one("RealtimeCluster");
    ObjectNode owner = Examples.secret(c.at("/spec/database/credentialsSecret/name").asText());
    for (String key : List.of("username", "password")) {
      assertFalse(owner.at("/stringData/" + key).asText().isBlank(), "owner Secret key " + key);
    }
    ObjectNode jwt = Examples.secret(c.at("/spec/auth/jwtSecret/name").asText());
    String secret = jwt.at("/stringData/" + c.at("/spec/auth/jwtSecret/key").asText()).asText();
    assertTrue(secret.length() >= 32, "the runtime refuses JWT secrets shorter than 32 characters");
    assertTrue(secret.startsWith("change-me"), "a placeholder that says so");
    assertEquals(c.at("/metadata/name").asText(), Examples.one("SessionPool").at("/spec/clusterRef/name").asText());
    c.at("/spec/pooler/parameters").fieldNames().forEachRemaining(p ->
        assertTrue(PgBouncerModel.ALLOWED.contains(p), "pooler parameter " + p + " is on the allow-list"));
    assertTrue(c.at("/spec/cdc/tables").isMissingNode(), "schema.sql manages the publication's tables");
    assertTrue(Examples.read("schema.sql").contains("alter publication " + c.at("/spec/cdc/publication").asText()
        + " add table"), "schema.sql publishes to the cluster's publication");
  }

  @Test
  void theClientPinsItsDependenciesAndCommitsItsLockFile() throws IOException {
    Path client = Examples.dir().resolve("client");
    JsonNode pkg = JSON.readTree(client.resolve("package.json").toFile());
    assertEquals("2.119.1", pkg.at("/dependencies/@supabase~1supabase-js").asText());
    assertEquals("8.18.3", pkg.at("/dependencies/ws").asText());
    JsonNode lock = JSON.readTree(client.resolve("package-lock.json").toFile());
    assertEquals(pkg.path("dependencies"), lock.at("/packages//dependencies"), "package-lock.json is up to date");
    assertEquals("2.119.1", lock.at("/packages/node_modules~1@supabase~1supabase-js/version").asText());
    assertEquals("8.18.3", lock.at("/packages/node_modules~1ws/version").asText());
    assertTrue(Files.readString(client.resolve(".gitignore")).contains("node_modules"));
  }
}
