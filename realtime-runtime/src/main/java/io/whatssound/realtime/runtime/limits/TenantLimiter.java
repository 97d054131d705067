package io.whatssound.realtime.runtime.limits;

import io.whatssound.realtime.runtime.config.TenantLimits;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/** The tenant-wide counters behind {@link TenantLimits}: connected users, joins/s and events/s. */
public final class TenantLimiter {
  private final TenantLimits limits;
  private final Clock clock;
  private final AtomicInteger connected = new AtomicInteger();
  private final RateWindow joins;
  private final RateWindow events;
  private volatile IntSupplier elsewhere = () -> 0;

  public TenantLimiter(TenantLimits limits, Clock clock) {
    this.limits = limits;
    this.clock = clock;
    this.joins = new RateWindow(limits.maxJoinsPerSecond(), Duration.ofSeconds(1), clock);
    this.events = new RateWindow(limits.maxEventsPerSecond(), Duration.ofSeconds(1), clock);
  }

  public TenantLimits limits() {
    return limits;
  }

  /** Counts a new socket if the tenant is below its concurrent-user limit. */
  public boolean tryConnect() {
    while (true) {
      int n = connected.get();
      if (n + elsewhere.getAsInt() >= limits.maxConcurrentUsers()) {
        return false;
      }
      if (connected.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  public void disconnected() {
    connected.decrementAndGet();
  }

  public int connected() {
    return connected.get();
  }

  /** Whether the tenant has more users than allowed (a join is refused then). */
  public boolean overUserLimit() {
    return connected.get() + elsewhere.getAsInt() > limits.maxConcurrentUsers();
  }

  /**
   * The tenant's sockets on other pods, as they last reported them (a cluster); the user limit counts
   * them too, so it may overshoot by what pods admit between two reports.
   */
  public void countElsewhere(IntSupplier remoteConnected) {
    elsewhere = remoteConnected;
  }

  public boolean tryJoin() {
    return joins.tryAcquire();
  }

  public boolean tryEvents(int n) {
    return events.tryAcquire(n);
  }

  /** A per-socket window for presence calls, opening at the first call. */
  public RateWindow newPresenceWindow() {
    return RateWindow.fromFirstCall(limits.maxPresenceCalls(), limits.presenceWindow(), clock);
  }
}
