package io.whatssound.realtime.operator.reconciler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class ReportedLagTest {
  private static final long MB = 1024 * 1024;
  private static final long MAX = 1024 * MB;

  @Test
  void smallMovesKeepTheShownLagSoStatusIsNotRewritten() {
    assertEquals(4 * MB, RealtimeClusterReconciler.reportedLag(4 * MB, 5 * MB, MAX));
    assertEquals(30 * MB, RealtimeClusterReconciler.reportedLag(4 * MB, 30 * MB, MAX));
    assertEquals(500 * MB, RealtimeClusterReconciler.reportedLag(500 * MB, 540 * MB, MAX), "within a tenth");
    assertEquals(600 * MB, RealtimeClusterReconciler.reportedLag(500 * MB, 600 * MB, MAX));
  }

  @Test
  void crossingTheLimitIsAlwaysShown() {
    assertEquals(MAX + 1, RealtimeClusterReconciler.reportedLag(MAX - MB, MAX + 1, MAX));
    assertEquals(MAX - 1, RealtimeClusterReconciler.reportedLag(MAX + MB, MAX - 1, MAX));
  }

  @Test
  void unknownValues() {
    assertEquals(7L, RealtimeClusterReconciler.reportedLag(null, 7L, MAX));
    assertNull(RealtimeClusterReconciler.reportedLag(7L, null, MAX));
  }
}
