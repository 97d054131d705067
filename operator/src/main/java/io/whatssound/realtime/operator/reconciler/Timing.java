package io.whatssound.realtime.operator.reconciler;

import java.time.Duration;

/**
 * How often the reconcilers come back on their own.
 *
 * @param slotPoll       slot health polling interval (cluster reconciler)
 * @param minRetry       first retry after a database failure
 * @param maxRetry       longest wait between retries (backoff doubles up to it)
 * @param connectionPoll how often a pool with ready pods reads their connection counts (pool reconciler)
 */
public record Timing(Duration slotPoll, Duration minRetry, Duration maxRetry, Duration connectionPoll) {
  public static final Duration CONNECTION_POLL = Duration.ofSeconds(30);

  public Timing {
    if (connectionPoll.isNegative() || connectionPoll.isZero()) {
      throw new IllegalArgumentException("the connection poll interval must be positive, got " + connectionPoll);
    }
  }

  /** With the standard connection poll interval ({@link #CONNECTION_POLL}). */
  public Timing(Duration slotPoll, Duration minRetry, Duration maxRetry) {
    this(slotPoll, minRetry, maxRetry, CONNECTION_POLL);
  }

  public static Timing standard() {
    return new Timing(Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofMinutes(5), CONNECTION_POLL);
  }

  public Timing withConnectionPoll(Duration interval) {
    return new Timing(slotPoll, minRetry, maxRetry, interval);
  }
}
