package io.whatssound.realtime.runtime.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.whatssound.realtime.runtime.protocol.FrameCodec;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.protocol.Vsn;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** One message for many sockets: encoded at most once per serializer, shared, and freed by the last release. */
class SharedPushTest {
  private final UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false);
  private final Map<Vsn, Integer> encodings = new HashMap<>();

  private SharedPush push(UserBroadcast b) {
    return new SharedPush(alloc, b.size(), (codec, a) -> {
      encodings.merge(codec.vsn(), 1, Integer::sum);
      return codec.encodeBroadcast(a, "realtime:party", b);
    });
  }

  @Test
  void eachSerializerEncodesOnceAndEveryRecipientSharesTheFrame() {
    SharedPush p = push(new UserBroadcast("chat", "{\"t\":1}".getBytes(StandardCharsets.UTF_8), false, null));
    FrameCodec v1 = Vsn.V1.codec();
    FrameCodec v2 = Vsn.V2.codec();
    ByteBuf first = p.wireFor(v2);
    assertSame(first, p.wireFor(v2), "the second recipient of 2.0.0 gets the same frame");
    assertNotNull(p.wireFor(v1));
    p.wireFor(v1);
    assertEquals(Map.of(Vsn.V1, 1, Vsn.V2, 1), encodings);
    p.release();
  }

  @Test
  void aSerializerThatCannotCarryTheMessageIsAskedOnceAndGetsNothing() {
    // binary payloads have no 1.0.0 form
    SharedPush p = push(new UserBroadcast("audio", new byte[] {1, 2, 3}, true, null));
    assertNull(p.wireFor(Vsn.V1.codec()));
    assertNull(p.wireFor(Vsn.V1.codec()));
    assertEquals(Map.of(Vsn.V1, 1), encodings);
    p.release();
  }

  @Test
  void theLastReleaseFreesTheEncodings() {
    SharedPush p = push(new UserBroadcast("chat", "{}".getBytes(StandardCharsets.UTF_8), false, null));
    ByteBuf frame = p.wireFor(Vsn.V2.codec());
    p.retain(); // a second fan-out task
    p.release();
    assertEquals(1, frame.refCnt(), "one task still holds it");
    p.release();
    assertEquals(0, frame.refCnt());
  }
}
