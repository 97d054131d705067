package io.whatssound.realtime.runtime.server;

import io.whatssound.realtime.postgres.DrainSummary;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * How a stopping pod lets its sockets go: in batches, one every {@link #INTERVAL}, spread over the first
 * {@link #SPREAD} of the drain window, so the clients reconnect elsewhere as a stream rather than a storm (supabase-js
 * reconnects without jitter). The rest of the window is for the slowest clients to go; what is left then is closed.
 */
final class DrainPlan {
  static final Duration INTERVAL = Duration.ofMillis(200);
  static final double SPREAD = DrainSummary.PACED_SHARE;

  private DrainPlan() {}

  /** {@code all} cut into batches; batch {@code i} goes {@code i * INTERVAL} after the drain starts. */
  static <T> List<List<T>> batches(List<T> all, Duration window) {
    return batches(all, window, SPREAD);
  }

  /**
   * Batches spread over {@code spread} of {@code window}: a drain keeps the end of its window for the slowest clients,
   * shedding (the pod keeps serving) spreads over all of it, so that its rate is the one the operator asked for.
   */
  static <T> List<List<T>> batches(List<T> all, Duration window, double spread) {
    List<List<T>> out = new ArrayList<>();
    if (all.isEmpty()) {
      return out;
    }
    long slots = Math.max(1, (long) (window.toMillis() * spread) / INTERVAL.toMillis());
    int size = (int) Math.max(1, (all.size() + slots - 1) / slots);
    for (int i = 0; i < all.size(); i += size) {
      out.add(List.copyOf(all.subList(i, Math.min(all.size(), i + size))));
    }
    return out;
  }
}
