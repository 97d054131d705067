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

  @Test
  void replayParamsAsSupabaseReadsThem() throws Exception {
    String replay = "{\"config\":{\"private\":true,\"broadcast\":{\"replay\":%s}}}";
    JoinRequest.Replay noLimit = parse(replay.formatted("{\"since\":5}")).replay().orElseThrow();
    assertEquals(new JoinRequest.Replay(5, 0), noLimit);
    assertEquals(25, noLimit.limit(), "limit defaults to 25");
    assertEquals(1000, noLimit.limit(1000), "on a history topic, to the replay maximum");
    assertEquals(500, parse(replay.formatted("{\"since\":5,\"limit\":500}")).replay().orElseThrow().limit(1000));
    assertEquals(1000, parse(replay.formatted("{\"since\":5,\"limit\":5000}")).replay().orElseThrow().limit(1000));
    assertEquals(1, parse(replay.formatted("{\"since\":5,\"limit\":0}")).replay().orElseThrow().limit());
    assertEquals(25, parse(replay.formatted("{\"since\":5,\"limit\":100}")).replay().orElseThrow().limit());
    for (String bad : new String[] {"{\"since\":\"yesterday\"}", "{}", "{\"since\":5,\"limit\":\"x\"}", "null"}) {
      JoinRequest r = parse(replay.formatted(bad));
      assertTrue(r.replayAsked(), bad);
      assertTrue(r.replay().isEmpty(), bad + " is not valid");
    }
    assertFalse(parse("{\"config\":{}}").replayAsked());
  }

  @Test
  void anApiKeyAsTheAccessTokenMeansTheSocketsToken() throws Exception {
    assertTrue(parse("{\"config\":{},\"access_token\":\"sb_publishable_x\"}").accessToken().isEmpty());
    assertTrue(parse("{\"config\":{},\"access_token\":null}").accessToken().isEmpty());
  }
}
