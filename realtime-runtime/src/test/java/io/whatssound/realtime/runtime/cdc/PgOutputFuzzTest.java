package io.whatssound.realtime.runtime.cdc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;

/**
 * Any bytes a replication stream could hand over: the pgoutput decoder returns a message or refuses with
 * {@link PgOutputException}, never another exception, and never moves the caller's buffer. The corpus (one message of
 * each kind) replays in every build; {@code bench/fuzz.sh} fuzzes.
 */
class PgOutputFuzzTest {

  @FuzzTest(maxDuration = "60s")
  void decodesOrRefuses(byte[] input) {
    ByteBuffer b = ByteBuffer.wrap(input);
    try {
      PgOutputDecoder.decode(b);
    } catch (PgOutputException e) {
      // refused with what is wrong
    }
    assertEquals(0, b.position(), "the caller's buffer is not moved");
  }
}
