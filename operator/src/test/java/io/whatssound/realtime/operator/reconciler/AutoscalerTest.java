package io.whatssound.realtime.operator.reconciler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whatssound.realtime.operator.api.SessionPoolSpec;
import io.whatssound.realtime.operator.api.SessionPoolStatus.AutoscalingStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The autoscaler's decisions over simulated time: target, bounds, stabilization windows and steps. */
class AutoscalerTest {
  private final SessionPoolSpec.Autoscaling a = new SessionPoolSpec.Autoscaling();
  private Instant now = Instant.parse("2026-12-04T12:00:00Z");
  private AutoscalingStatus last;
  private int replicas;

  AutoscalerTest() {
    a.setMinReplicas(2);
    a.setMaxReplicas(10);
    a.setTargetConnectionsPerPod(1000);
    a.setScaleUpStabilizationSeconds(15);
    a.setScaleDownStabilizationSeconds(300);
    a.setMaxStep(3);
  }

  /** One poll: {@code connections} now, all pods ready; returns the replicas decided. */
  private Autoscaler.Decision poll(Integer connections, int ready) {
    Autoscaler.Decision d = Autoscaler.decide(a, replicas, Optional.ofNullable(connections), ready, last, now);
    last = d.status();
    replicas = d.replicas();
    return d;
  }

  private Autoscaler.Decision poll(Integer connections) {
    return poll(connections, replicas);
  }

  private void after(int seconds) {
    now = now.plusSeconds(seconds);
  }

  @Test
  void replicasOutsideTheBoundsAreCorrectedAtOnce() {
    replicas = 1;
    Autoscaler.Decision d = poll(0);
    assertEquals(2, d.replicas());
    assertEquals("BelowMinimum", d.status().getReason());
    assertTrue(d.event().isPresent());
    replicas = 12;
    assertEquals(10, poll(0).replicas());
  }

  @Test
  void aSpikeMustLastTheScaleUpWindowAndTheSmallestWantOfItIsTaken() {
    replicas = 2;
    assertEquals("Steady", poll(1500).status().getReason());
    Autoscaler.Decision pending = poll(4500); // wants 5
    assertEquals(2, pending.replicas());
    assertEquals("ScaleUpPending", pending.status().getReason());
    assertEquals(5, pending.status().getPendingReplicas());
    after(10);
    assertEquals(2, poll(3500).replicas(), "still within 15 s; the want drops to 4");
    after(6);
    Autoscaler.Decision up = poll(9000); // wants 9, but 4 was the smallest want of the window
    assertEquals(4, up.replicas());
    assertEquals("ScaledUp", up.status().getReason());
    assertEquals("2 -> 4 replicas: 9000 connections, 1000 per pod", up.event().orElseThrow()[1]);
    assertEquals(now.toString(), up.status().getLastScaleTime());
  }

  @Test
  void aStepAddsAtMostMaxStepPods() {
    replicas = 2;
    poll(10_000);
    after(15);
    assertEquals(5, poll(10_000).replicas(), "2 + maxStep 3");
    after(15);
    poll(10_000);
    after(15);
    assertEquals(8, poll(10_000).replicas());
  }

  @Test
  void aDipThatEndsResetsTheWindow() {
    replicas = 2;
    poll(3000);
    after(10);
    assertEquals("Steady", poll(2000).status().getReason());
    after(10);
    Autoscaler.Decision again = poll(3000);
    assertEquals("ScaleUpPending", again.status().getReason(), "a new window starts");
    assertEquals(now.toString(), again.status().getPendingSince());
  }

  @Test
  void scalingDownWaitsTheLongWindowTakesTheLargestWantAndWaitsForStartingPods() {
    replicas = 8;
    assertEquals("ScaleDownPending", poll(2500).status().getReason()); // wants 3
    after(200);
    poll(4200); // wants 5
    after(101);
    Autoscaler.Decision down = poll(2500);
    assertEquals(5, down.replicas(), "the largest want of the window, 8 - 3 at most");
    assertEquals("ScaledDown", down.status().getReason());
    replicas = 5;
    Autoscaler.Decision starting = poll(100, 3);
    assertEquals(5, starting.replicas());
    assertEquals("PodsStarting", starting.status().getReason());
  }

  @Test
  void unknownConnectionsChangeNothing() {
    replicas = 4;
    Autoscaler.Decision d = poll(null);
    assertEquals(4, d.replicas());
    assertEquals("NoMetrics", d.status().getReason());
    assertFalse(d.event().isPresent());
  }

  @Test
  void windowsOfZeroActAtOnce() {
    a.setScaleUpStabilizationSeconds(0);
    a.setScaleDownStabilizationSeconds(0);
    replicas = 2;
    assertEquals(5, poll(5000).replicas());
    assertEquals(2, poll(10).replicas(), "5 - 3");
    assertEquals(Duration.ZERO, Duration.ofSeconds(a.getScaleDownStabilizationSeconds()));
  }

  @Test
  void afterAScaleUpTheFullestPodShedsTowardsTheAverageAtABoundedRate() {
    a.setMaxReconnectsPerSecond(20);
    Duration poll = Duration.ofSeconds(30);
    Map<String, Long> justScaled = Map.of("old-1", 2400L, "old-2", 2300L, "new-1", 0L, "new-2", 0L);
    Autoscaler.Shed shed = Autoscaler.rebalance(a, justScaled, 4, 4, poll).orElseThrow();
    assertEquals("old-1", shed.pod());
    assertEquals(600, shed.count(), "20 reconnects a second over the 30 s poll, not the 1,225 to the average");
    a.setMaxReconnectsPerSecond(1000);
    assertEquals(2400 - 1175, Autoscaler.rebalance(a, justScaled, 4, 4, poll).orElseThrow().count(),
        "down to the average when the rate allows");
    assertTrue(Autoscaler.rebalance(a, justScaled, 4, 3, poll).isEmpty(), "not while a pod is still starting");
    assertTrue(Autoscaler.rebalance(a, justScaled, 5, 5, poll).isEmpty(), "not before every pod answered");
    assertTrue(Autoscaler.rebalance(a, Map.of("a", 1100L, "b", 900L), 2, 2, poll).isEmpty(), "close enough");
    assertTrue(Autoscaler.rebalance(a, Map.of("a", 900L, "b", 0L), 2, 2, poll).isEmpty(),
        "no pod above its target: nothing to move yet");
    assertTrue(Autoscaler.rebalance(a, Map.of("a", 1500L, "b", 1400L), 2, 2, poll).isEmpty(),
        "no pod with room: moving clients helps nobody");
  }

  @Test
  void podsGoFewAtATimeWhenTheirDrainsWouldMakeMoreReconnectsThanAllowed() {
    a.setMaxReconnectsPerSecond(20);
    // 15 s drains paced over 12 s: 240 reconnects fit; the emptiest first
    assertEquals(2, Autoscaler.drainableStep(a, List.of(150L, 100L, 90L, 400L), 15), "90 + 100 fit, + 150 not");
    assertEquals(1, Autoscaler.drainableStep(a, List.of(900L, 800L), 15), "one pod goes even when it holds more");
    assertEquals(4, Autoscaler.drainableStep(a, List.of(10L, 10L, 10L, 10L), 15));

    replicas = 8;
    poll(2500, 8);
    after(300);
    Autoscaler.Decision d = Autoscaler.decide(a, replicas, Optional.of(2500), 8, last, now, 2);
    assertEquals(6, d.replicas(), "3 wanted, maxStep 3, but 2 at a time");
    assertTrue(d.status().getMessage().endsWith("(2 at a time, so that their drains stay within 20 reconnects a second)"),
        d.status().getMessage());
  }
}
