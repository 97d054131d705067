package io.whatssound.realtime.bench;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Sends at a fixed rate for a fixed time: every millisecond it asks the sender for the messages due
 * since the start. A sender that cannot keep up accumulates at most 100 ms of debt; the rest is
 * skipped and shows as a lower achieved rate, never as an unbounded burst.
 */
final class Pacer {
  /** Sends up to {@code due} messages now and returns how many it sent. */
  interface Sender {
    int send(int due);
  }

  record Result(long sent, long skipped, double seconds) {
    double rate() {
      return sent / seconds;
    }
  }

  static CompletableFuture<Result> run(ScheduledExecutorService exec, double rate, double seconds, Sender sender) {
    CompletableFuture<Result> done = new CompletableFuture<>();
    long start = System.nanoTime();
    long end = start + (long) (seconds * 1e9);
    long maxDebt = Math.max(1, (long) (rate * 0.1));
    long[] state = new long[2]; // sent, skipped
    AtomicReference<ScheduledFuture<?>> task = new AtomicReference<>();
    Runnable tick =
        () -> {
          if (done.isDone()) {
            return;
          }
          long now = System.nanoTime();
          long t = Math.min(now, end);
          long due = (long) ((t - start) / 1e9 * rate) - state[0] - state[1];
          if (due > maxDebt) {
            state[1] += due - maxDebt;
            due = maxDebt;
          }
          if (due > 0) {
            state[0] += sender.send((int) Math.min(due, Integer.MAX_VALUE));
          }
          if (now >= end) {
            done.complete(new Result(state[0], state[1], (now - start) / 1e9));
            ScheduledFuture<?> f = task.get();
            if (f != null) {
              f.cancel(false);
            }
          }
        };
    task.set(exec.scheduleAtFixedRate(tick, 0, 1, TimeUnit.MILLISECONDS));
    return done;
  }
}
