package io.whatssound.realtime.runtime.server;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.whatssound.realtime.postgres.TestClock;
import io.whatssound.realtime.runtime.protocol.Json;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Any body of {@code POST /api/broadcast}: it becomes messages, each with a topic, an event and a JSON object payload
 * within the tenant's limit, or is refused as a whole with a 4xx answer and nothing published. The corpus replays in
 * every build; {@code bench/fuzz.sh} fuzzes.
 */
class RestBodyFuzzTest {
  private static final RuntimeContext RT = SocketSessionTest.context(
      Map.of("REALTIME_MAX_PAYLOAD_KB", "1"), null, new TestClock(Instant.parse("2026-01-01T00:00:00Z")));
  private static final RestBroadcast REST = new RestBroadcast(RT);

  @FuzzTest(maxDuration = "60s")
  void batchesAreTakenWholeOrRefusedWhole(byte[] body) throws Exception {
    List<RestBroadcast.Message> messages;
    try {
      messages = REST.parseBatch(body);
    } catch (RestBroadcast.Refused e) {
      int status = e.outcome().status();
      assertTrue(status >= 400 && status < 500, "a refusal is the client's error: " + status);
      assertNotNull(e.outcome().body(), "a refusal says why");
      return;
    }
    assertTrue(!messages.isEmpty(), "an accepted batch has messages");
    for (RestBroadcast.Message m : messages) {
      assertTrue(!m.key().subTopic().isBlank(), "a message has a topic");
      assertTrue(!m.broadcast().event().isBlank(), "a message has an event");
      byte[] payload = m.broadcast().payload();
      assertTrue(payload.length <= RT.config().limits().maxPayloadBytes(), "within the tenant's payload limit");
      assertTrue(Json.MAPPER.readTree(payload).isObject(), "the payload is a JSON object");
    }
  }
}
