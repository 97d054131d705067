package io.whatssound.realtime.runtime.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.whatssound.realtime.postgres.TestClock;
import io.whatssound.realtime.runtime.protocol.Vsn;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;

/**
 * Any sequence of client frames on a healthy socket: each is answered or refused, nothing escapes the pipeline, and
 * the socket still answers a heartbeat afterwards (or, if the frames asked for it, was closed with a close frame).
 *
 * <p>Input: the first byte picks the serializer ({@code '1'} for 1.0.0, anything else 2.0.0); the rest is frames
 * separated by {@code '\n'}, each starting with {@code T} (text) or anything else (binary). The corpus under
 * {@code src/test/resources/.../SocketFuzzTestInputs} replays in every build; {@code bench/fuzz.sh} fuzzes.
 */
class SocketFuzzTest {
  private static final byte[] NONE = new byte[0];

  @FuzzTest(maxDuration = "60s")
  void aSocketSurvivesAnyFrames(byte[] input) throws Exception {
    if (input.length == 0) {
      return;
    }
    Vsn vsn = input[0] == '1' ? Vsn.V1 : Vsn.V2;
    TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
    RuntimeContext rt = SocketSessionTest.context(Map.of("REALTIME_JOIN_ERROR_DELAY_MS", "0"), null, clock);
    VerifiedToken token = new VerifiedToken("t", "anon", clock.instant().plusSeconds(3600), Map.of("role", "anon"));
    rt.limiter().tryConnect();
    ControlFrames control = new ControlFrames(rt.metrics());
    EmbeddedChannel ch = new EmbeddedChannel(control, new SocketSession(rt, vsn.codec(), token, control));
    ch.freezeTime();
    try {
      int start = 1;
      for (int i = 1; i <= input.length; i++) {
        if (i == input.length || input[i] == '\n') {
          byte[] frame = start < i ? Arrays.copyOfRange(input, start, i) : NONE;
          start = i + 1;
          if (!ch.isActive()) {
            break;
          }
          boolean text = frame.length > 0 && frame[0] == 'T';
          ByteBuf body = Unpooled.wrappedBuffer(frame, Math.min(1, frame.length), Math.max(0, frame.length - 1));
          ch.writeInbound(text ? new TextWebSocketFrame(body) : new BinaryWebSocketFrame(body));
          ch.runPendingTasks();
        }
      }
      ch.checkException();
      boolean closed = drain(ch, null);
      if (ch.isActive()) {
        String heartbeat = vsn == Vsn.V1
            ? "{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{},\"ref\":\"fuzz-hb\"}"
            : "[null,\"fuzz-hb\",\"phoenix\",\"heartbeat\",{}]";
        ch.writeInbound(new TextWebSocketFrame(heartbeat));
        ch.runPendingTasks();
        ch.checkException();
        StringBuilder out = new StringBuilder();
        drain(ch, out);
        assertTrue(out.toString().contains("fuzz-hb"), "the socket answers a heartbeat after the frames: " + out);
      } else {
        assertTrue(closed, "a socket the frames ended was closed with a close frame");
      }
    } finally {
      ch.finishAndReleaseAll();
    }
  }

  /** Reads every frame the socket sent (its text into {@code text} when given); whether one was a close frame. */
  private static boolean drain(EmbeddedChannel ch, StringBuilder text) {
    boolean close = false;
    Object o;
    while ((o = ch.readOutbound()) != null) {
      WebSocketFrame f = o instanceof WebSocketFrame w ? w : SocketSessionTest.unwire((ByteBuf) o);
      try {
        close |= f instanceof CloseWebSocketFrame;
        if (text != null && f instanceof TextWebSocketFrame t) {
          text.append(t.content().toString(StandardCharsets.UTF_8)).append('\n');
        }
      } finally {
        f.release();
      }
    }
    return close;
  }
}
