package io.whatssound.realtime.operator;

import java.time.Duration;
import java.util.function.Supplier;

/** Polls a condition until it holds or a deadline passes: no sleeps as synchronization. */
public final class Await {
  private Await() {}

  public static <T> T until(Duration timeout, String what, Supplier<T> value) {
    long deadline = System.nanoTime() + timeout.toNanos();
    RuntimeException last = null;
    while (System.nanoTime() < deadline) {
      try {
        T v = value.get();
        if (v != null && !Boolean.FALSE.equals(v)) {
          return v;
        }
      } catch (RuntimeException e) {
        last = e;
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for " + what);
      }
    }
    throw new AssertionError("timed out after " + timeout + " waiting for " + what, last);
  }
}
