package io.whatssound.realtime.runtime.channel;

import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicLong;

/** Short ids unique across pods: a random node prefix and a counter (Phoenix refs, subscription ids). */
public final class Ids {
  private final String node;
  private final AtomicLong counter = new AtomicLong();

  public Ids() {
    byte[] b = new byte[6];
    new SecureRandom().nextBytes(b);
    StringBuilder sb = new StringBuilder();
    for (byte x : b) {
      sb.append(Character.forDigit((x >> 4) & 0xf, 16)).append(Character.forDigit(x & 0xf, 16));
    }
    node = sb.toString();
  }

  public String next() {
    return node + "-" + Long.toString(counter.incrementAndGet(), 36);
  }
}
