package io.whatssound.realtime.runtime.limits;

import java.time.Clock;
import java.time.Duration;

/**
 * At most {@code limit} acquisitions per window of time, read from an injected clock. Windows are aligned to the
 * epoch (a tenant's second), or, {@link #fromFirstCall}, start at the first acquisition after the last one ended.
 */
public final class RateWindow {
  private final int limit;
  private final long windowMillis;
  private final Clock clock;
  private final boolean aligned;
  private long windowStart = Long.MIN_VALUE;
  private int used;

  public RateWindow(int limit, Duration window, Clock clock) {
    this(limit, window, clock, true);
  }

  private RateWindow(int limit, Duration window, Clock clock, boolean aligned) {
    this.limit = limit;
    this.windowMillis = window.toMillis();
    this.clock = clock;
    this.aligned = aligned;
  }

  /** A window that opens at the first acquisition and lasts {@code window}, as Supabase counts a client's calls. */
  public static RateWindow fromFirstCall(int limit, Duration window, Clock clock) {
    return new RateWindow(limit, window, clock, false);
  }

  /** Takes {@code n} permits if the current window still has them. */
  public synchronized boolean tryAcquire(int n) {
    long now = clock.millis();
    if (windowStart == Long.MIN_VALUE || now - windowStart >= windowMillis) {
      windowStart = aligned ? now - Math.floorMod(now, windowMillis) : now;
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
