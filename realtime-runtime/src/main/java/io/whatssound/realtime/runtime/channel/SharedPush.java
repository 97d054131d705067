package io.whatssound.realtime.runtime.channel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.protocol.FrameCodec;
import io.whatssound.realtime.runtime.protocol.OutFrame;
import io.whatssound.realtime.runtime.protocol.Vsn;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;

/**
 * One message for many sockets, encoded at most once per serializer into a complete WebSocket frame
 * ({@link OutFrame#wire}) shared by every recipient. Reference counted by the fan-out tasks that use
 * it; the last release frees the encodings.
 */
public final class SharedPush {
  private final ByteBufAllocator alloc;
  private final BiFunction<FrameCodec, ByteBufAllocator, OutFrame> encoder;
  private final ByteBuf[] wire = new ByteBuf[Vsn.values().length];
  private final boolean[] done = new boolean[Vsn.values().length];
  private final AtomicInteger refs = new AtomicInteger(1);
  private final int sizeHint;

  public SharedPush(ByteBufAllocator alloc, BiFunction<FrameCodec, ByteBufAllocator, OutFrame> encoder) {
    this(alloc, 256, encoder);
  }

  /** {@code sizeHint}: about how many bytes one encoding takes, for the fan-out backlog accounting. */
  public SharedPush(ByteBufAllocator alloc, int sizeHint, BiFunction<FrameCodec, ByteBufAllocator, OutFrame> encoder) {
    this.alloc = alloc;
    this.encoder = encoder;
    this.sizeHint = Math.max(64, sizeHint);
  }

  int sizeHint() {
    return sizeHint;
  }

  /** The wire frame for a serializer, or null when that serializer cannot carry this message. */
  synchronized ByteBuf wireFor(FrameCodec codec) {
    int i = codec.vsn().ordinal();
    if (!done[i]) {
      OutFrame f = encoder.apply(codec, alloc);
      if (f != null) {
        try {
          wire[i] = f.wire(alloc);
        } finally {
          f.content().release();
        }
      }
      done[i] = true;
    }
    return wire[i];
  }

  SharedPush retain() {
    refs.incrementAndGet();
    return this;
  }

  public void release() {
    if (refs.decrementAndGet() == 0) {
      synchronized (this) {
        for (int i = 0; i < wire.length; i++) {
          if (wire[i] != null) {
            wire[i].release();
            wire[i] = null;
          }
        }
      }
    }
  }
}
