package io.whatssound.realtime.runtime.presence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.whatssound.realtime.runtime.protocol.Json;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PresenceStateTest {
  private final PresenceState state = new PresenceState();

  private static ObjectNode fields(String k, String v) {
    return Json.MAPPER.createObjectNode().put(k, v);
  }

  private static JsonNode render(Json.GeneratorWriter w) throws Exception {
    ByteBuf b = Json.write(UnpooledByteBufAllocator.DEFAULT, w);
    try {
      return Json.MAPPER.readTree(b.toString(StandardCharsets.UTF_8));
    } finally {
      b.release();
    }
  }

  @Test
  void trackJoinsAndUntrackLeaves() throws Exception {
    PresenceState.Diff join = state.track("sub1", "alice", fields("mood", "happy"), "r1").orElseThrow();
    JsonNode d = render(join::write);
    assertEquals("r1", d.at("/joins/alice/metas/0/phx_ref").asText());
    assertEquals("happy", d.at("/joins/alice/metas/0/mood").asText());
    assertTrue(d.get("leaves").isEmpty());

    PresenceState.Diff leave = state.untrack("sub1").orElseThrow();
    JsonNode l = render(leave::write);
    assertEquals("r1", l.at("/leaves/alice/metas/0/phx_ref").asText());
    assertTrue(l.get("joins").isEmpty());
    assertTrue(state.keys().isEmpty());
    assertTrue(state.untrack("sub1").isEmpty());
  }

  @Test
  void identicalRetrackSendsNothingAndChangedRetrackJoinsAndLeavesInOneDiff() throws Exception {
    state.track("sub1", "alice", fields("mood", "happy"), "r1");
    assertTrue(state.track("sub1", "alice", fields("mood", "happy"), "r2").isEmpty());
    PresenceState.Diff d = state.track("sub1", "alice", fields("mood", "sad"), "r3").orElseThrow();
    JsonNode j = render(d::write);
    assertEquals("r3", j.at("/joins/alice/metas/0/phx_ref").asText());
    assertEquals("r1", j.at("/joins/alice/metas/0/phx_ref_prev").asText());
    assertEquals("sad", j.at("/joins/alice/metas/0/mood").asText());
    assertEquals("r1", j.at("/leaves/alice/metas/0/phx_ref").asText());
  }

  @Test
  void severalOwnersShareAKeyAndTheStateListsEveryMeta() throws Exception {
    state.track("tab1", "bob", fields("tab", "1"), "r1");
    state.track("tab2", "bob", fields("tab", "2"), "r2");
    state.track("sub3", "carol", fields("x", "y"), "r3");
    JsonNode s = render(state::writeState);
    assertEquals(2, s.at("/bob/metas").size());
    assertEquals(1, s.at("/carol/metas").size());
    state.untrack("tab1");
    s = render(state::writeState);
    assertEquals("r2", s.at("/bob/metas/0/phx_ref").asText());
  }

  @Test
  void userFieldsCannotOverrideTheRef() throws Exception {
    ObjectNode f = fields("phx_ref", "forged");
    PresenceState.Diff d = state.track("s", "k", f, "real").orElseThrow();
    JsonNode j = render(d::write);
    assertEquals("real", j.at("/joins/k/metas/0/phx_ref").asText());
    assertNull(d.leave());
  }
}
