package io.whatssound.realtime.operator.reconciler;

import java.time.Duration;

/**
 * How often the cluster reconciler comes back on its own.
 *
 * @param slotPoll     slot health polling interval
 * @param minRetry     first retry after a database failure
 * @param maxRetry     longest wait between retries (backoff doubles up to it)
 */
public record Timing(Duration slotPoll, Duration minRetry, Duration maxRetry) {
  public static Timing standard() {
    return new Timing(Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofMinutes(5));
  }
}
