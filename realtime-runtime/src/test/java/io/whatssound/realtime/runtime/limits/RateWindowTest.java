package io.whatssound.realtime.runtime.limits;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whatssound.realtime.postgres.TestClock;
import io.whatssound.realtime.runtime.config.TenantLimits;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RateWindowTest {
  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00.100Z"));

  @Test
  void allowsTheLimitPerWindowAndRefillsInTheNext() {
    RateWindow w = new RateWindow(3, Duration.ofSeconds(1), clock);
    assertTrue(w.tryAcquire());
    assertTrue(w.tryAcquire(2));
    assertFalse(w.tryAcquire());
    clock.advance(Duration.ofMillis(899));
    assertFalse(w.tryAcquire());
    clock.advance(Duration.ofMillis(1));
    assertTrue(w.tryAcquire(3));
    assertFalse(w.tryAcquire(1));
  }

  @Test
  void aWindowFromTheFirstCallLastsItsFullLengthWhateverTheClockSays() {
    RateWindow w = RateWindow.fromFirstCall(2, Duration.ofSeconds(30), clock);
    clock.advance(Duration.ofMillis(29_800)); // 0.1 s before an epoch-aligned window would end
    assertTrue(w.tryAcquire());
    assertTrue(w.tryAcquire());
    clock.advance(Duration.ofSeconds(1)); // an aligned window would have refilled here
    assertFalse(w.tryAcquire());
    clock.advance(Duration.ofMillis(28_999));
    assertFalse(w.tryAcquire());
    clock.advance(Duration.ofMillis(1));
    assertTrue(w.tryAcquire());
  }

  @Test
  void aBatchLargerThanTheLimitIsRefusedWhole() {
    RateWindow w = new RateWindow(2, Duration.ofSeconds(1), clock);
    assertFalse(w.tryAcquire(3));
    assertTrue(w.tryAcquire(2));
  }

  @Test
  void concurrentUsersAreCountedAndReleased() {
    TenantLimits l = new TenantLimits(2, 10, 10, 10, 1024, 5, Duration.ofSeconds(30));
    TenantLimiter t = new TenantLimiter(l, clock);
    assertTrue(t.tryConnect());
    assertTrue(t.tryConnect());
    assertFalse(t.tryConnect());
    assertFalse(t.overUserLimit());
    t.disconnected();
    assertTrue(t.tryConnect());
  }
}
