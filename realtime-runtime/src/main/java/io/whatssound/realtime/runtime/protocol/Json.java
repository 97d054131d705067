package io.whatssound.realtime.runtime.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/** The one JSON toolkit of the runtime (an immutable, shared Jackson setup). */
public final class Json {
  public static final ObjectMapper MAPPER =
      new ObjectMapper(factory())
          .configure(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN, true);

  private Json() {}

  private static JsonFactory factory() {
    JsonFactory f = new JsonFactory();
    // Frames may be several MB; the payload limit is enforced by the runtime itself.
    f.setStreamReadConstraints(
        StreamReadConstraints.builder().maxStringLength(64 * 1024 * 1024).maxNestingDepth(256).build());
    return f;
  }

  public static byte[] bytes(JsonNode node) {
    try {
      return MAPPER.writeValueAsBytes(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Any value (e.g. verified JWT claims) as JSON text. */
  public static String bytesAsString(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Parses a JSON object, or throws {@link FrameException} saying what is wrong. */
  public static ObjectNode object(byte[] bytes, String what) throws FrameException {
    JsonNode node = tree(bytes, 0, bytes.length, what);
    if (!(node instanceof ObjectNode o)) {
      throw new FrameException("bad_json", what + " must be a JSON object");
    }
    return o;
  }

  public static JsonNode tree(byte[] bytes, int offset, int length, String what) throws FrameException {
    try (JsonParser p = MAPPER.createParser(bytes, offset, length)) {
      JsonNode node = MAPPER.readTree(p);
      if (node == null || p.nextToken() != null) {
        throw new FrameException("bad_json", what + " is not a single JSON value");
      }
      return node;
    } catch (IOException e) {
      throw new FrameException("bad_json", what + " is not valid JSON: " + firstLine(e.getMessage()));
    }
  }

  /** Checks that bytes hold exactly one JSON value without building a tree. */
  public static void validate(byte[] bytes, String what) throws FrameException {
    try (JsonParser p = MAPPER.createParser(bytes)) {
      if (p.nextToken() == null) {
        throw new FrameException("bad_json", what + " is empty");
      }
      p.skipChildren();
      JsonToken extra = p.nextToken();
      if (extra != null) {
        throw new FrameException("bad_json", what + " is not a single JSON value");
      }
    } catch (IOException e) {
      throw new FrameException("bad_json", what + " is not valid JSON: " + firstLine(e.getMessage()));
    }
  }

  /** The UTF-8 bytes of a JSON string literal, quotes included. */
  public static byte[] quoted(String s) {
    byte[] inner = JsonStringEncoder.getInstance().quoteAsUTF8(s);
    byte[] out = new byte[inner.length + 2];
    out[0] = '"';
    System.arraycopy(inner, 0, out, 1, inner.length);
    out[out.length - 1] = '"';
    return out;
  }

  /** Writes with a generator straight into a pooled buffer. */
  public static ByteBuf write(ByteBufAllocator alloc, GeneratorWriter writer) {
    ByteBuf buf = alloc.buffer(256);
    try (JsonGenerator g = MAPPER.createGenerator((OutputStream) new ByteBufOutputStream(buf))) {
      writer.write(g);
    } catch (IOException | RuntimeException e) {
      buf.release();
      throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
    }
    return buf;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }

  /** Writes a JSON value with a generator. */
  @FunctionalInterface
  public interface GeneratorWriter {
    void write(JsonGenerator g) throws IOException;
  }
}
