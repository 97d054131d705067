package io.whatssound.realtime.runtime.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A broadcast as users see it: an event name and a payload that is either JSON text (kept as the
 * UTF-8 bytes the client sent, validated, never re-parsed for fan-out) or opaque binary.
 *
 * @param event   the user's event name
 * @param payload JSON bytes, or raw bytes when {@code binary}
 * @param binary  whether the payload is binary
 * @param meta    optional metadata sent to clients (e.g. {@code {"id":"..."}}), or null
 */
public record UserBroadcast(String event, byte[] payload, boolean binary, ObjectNode meta) {

  /** Reads the {@code {"type":"broadcast","event":..,"payload":..}} object of a JSON broadcast push. */
  public static UserBroadcast fromPushPayload(ObjectNode push) throws FrameException {
    JsonNode event = push.get("event");
    if (event == null || !event.isTextual()) {
      throw new FrameException("bad_broadcast", "a broadcast needs a string \"event\"");
    }
    JsonNode payload = push.get("payload");
    byte[] bytes = Json.bytes(payload == null || payload.isNull() ? Json.MAPPER.createObjectNode() : payload);
    return new UserBroadcast(event.textValue(), bytes, false, null);
  }

  public int size() {
    return payload.length;
  }
}
