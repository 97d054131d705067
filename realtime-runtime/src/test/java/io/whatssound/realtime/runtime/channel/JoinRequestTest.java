package io.whatssound.realtime.runtime.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whatssound.realtime.runtime.protocol.Json;
import org.junit.jupiter.api.Test;

class JoinRequestTest {
  private static JoinRequest parse(String json) throws Exception {
    return JoinRequest.parse((ObjectNode) Json.MAPPER.readTree(json));
  }

  @Test
  void readsTheCurrentClientsConfig() throws Exception {
    JoinRequest r =
        parse("{\"config\":{\"broadcast\":{\"ack\":true,\"self\":true},\"presence\":{\"key\":\"alice\",\"enabled\":false},"
            + "\"postgres_changes\":[{\"event\":\"*\",\"schema\":\"public\",\"table\":\"votes\"}],\"private\":true},"
            + "\"access_token\":\"tok\"}");
    assertTrue(r.ack());
    assertTrue(r.self());
    assertEquals("alice", r.presenceKey());
    assertFalse(r.presenceEnabled());
    assertTrue(r.isPrivate());
    assertEquals("votes", r.postgresChanges().get(0).get("table").asText());
    assertEquals("tok", r.accessToken().orElseThrow());
  }

  @Test
  void stringBooleansAndTheLegacyFormWithoutConfig() throws Exception {
    JoinRequest s = parse("{\"config\":{\"broadcast\":{\"ack\":\"true\",\"self\":\"false\"},\"private\":\"true\"}}");
    assertTrue(s.ack());
    assertFalse(s.self());
    assertTrue(s.isPrivate());

    JoinRequest legacy = parse("{}");
    assertFalse(legacy.ack());
    assertFalse(legacy.self());
    assertFalse(legacy.isPrivate());
    assertTrue(legacy.presenceEnabled(), "older clients get presence without asking");
    assertEquals("", legacy.presenceKey());
    assertTrue(legacy.accessToken().isEmpty());
    assertTrue(legacy.postgresChanges().isEmpty());
  }
}
