package io.whatssound.realtime.bench;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;

/**
 * Deliveries and their send-to-receive latency, recorded from many event loops without contention:
 * one histogram per thread, merged when read. Only messages sent at or after {@link #measureFrom}
 * count towards latency (warm-up is excluded); every delivery counts towards throughput.
 */
final class Recorder {
  private final List<LatencyHistogram> all = new CopyOnWriteArrayList<>();
  private final ThreadLocal<LatencyHistogram> mine =
      ThreadLocal.withInitial(
          () -> {
            LatencyHistogram h = new LatencyHistogram();
            all.add(h);
            return h;
          });
  private final LongAdder deliveries = new LongAdder();
  private volatile long measureFrom = Long.MAX_VALUE;
  private volatile long measureUntil = Long.MAX_VALUE;
  private volatile long lastDelivery;

  /** Latency counts for messages sent in [from, until) (System.nanoTime values). */
  void window(long fromNanos, long untilNanos) {
    measureFrom = fromNanos;
    measureUntil = untilNanos;
  }

  void delivered(long sentNanos, long nowNanos) {
    deliveries.increment();
    lastDelivery = nowNanos;
    if (sentNanos >= measureFrom && sentNanos < measureUntil) {
      mine.get().record((nowNanos - sentNanos) / 1000);
    }
  }

  long deliveries() {
    return deliveries.sum();
  }

  /**
   * Waits until {@code expected} deliveries arrived, or none arrived for {@code quietSeconds}, or
   * {@code maxSeconds} passed: the end of a run drains what is still on its way.
   */
  void drain(long expected, double maxSeconds, double quietSeconds) throws InterruptedException {
    long deadline = System.nanoTime() + (long) (maxSeconds * 1e9);
    long quiet = (long) (quietSeconds * 1e9);
    long last = -1;
    long lastChange = System.nanoTime();
    while (System.nanoTime() < deadline) {
      long d = deliveries();
      if (d >= expected) {
        return;
      }
      if (d != last) {
        last = d;
        lastChange = System.nanoTime();
      } else if (System.nanoTime() - lastChange > quiet) {
        return;
      }
      Thread.sleep(50);
    }
  }

  long lastDeliveryNanos() {
    return lastDelivery;
  }

  /** A merged copy; call when the load has stopped (or accept a slightly torn read). */
  LatencyHistogram snapshot() {
    LatencyHistogram h = new LatencyHistogram();
    for (LatencyHistogram x : all) {
      h.add(x);
    }
    return h;
  }
}
