package io.whatssound.realtime.runtime.limits;

import java.time.Clock;
import java.time.Duration;

/** At most {@code limit} acquisitions per fixed window of time, read from an injected clock. */
public final class RateWindow {
  private final int limit;
  private final long windowMillis;
  private final Clock clock;
  private long windowStart = Long.MIN_VALUE;
  private int used;

  public RateWindow(int limit, Duration window, Clock clock) {
    this.limit = limit;
    this.windowMillis = window.toMillis();
    this.clock = clock;
  }

  /** Takes {@code n} permits if the current window still has them. */
  public synchronized boolean tryAcquire(int n) {
    long now = clock.millis();
    if (windowStart == Long.MIN_VALUE || now - windowStart >= windowMillis) {
      windowStart = now - Math.floorMod(now, windowMillis);
      used = 0;
    }
    if (used + n > limit) {
      return false;
    }
    used += n;
    return true;
  }

  public boolean tryAcquire() {
    return tryAcquire(1);
  }
}
