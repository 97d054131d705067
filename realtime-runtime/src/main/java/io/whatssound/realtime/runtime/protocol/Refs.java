package io.whatssound.realtime.runtime.protocol;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;

/** Reading and writing the envelope's ref fields and required strings. */
final class Refs {
  private Refs() {}

  static String ref(JsonNode node) throws FrameException {
    if (node == null || node.isNull()) {
      return null;
    }
    if (node.isTextual() || node.isIntegralNumber()) {
      return node.asText();
    }
    throw new FrameException("bad_envelope", "refs must be strings or null");
  }

  static String requiredString(JsonNode node, String field) throws FrameException {
    if (node == null || !node.isTextual()) {
      throw new FrameException("bad_envelope", "\"" + field + "\" must be a string");
    }
    return node.textValue();
  }

  static void write(JsonGenerator g, String ref) throws IOException {
    if (ref == null) {
      g.writeNull();
    } else {
      g.writeString(ref);
    }
  }
}
