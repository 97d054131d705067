package io.whatssound.realtime.operator.reconciler;

import io.whatssound.realtime.operator.api.SessionPoolSpec;
import io.whatssound.realtime.operator.api.SessionPoolStatus.AutoscalingStatus;
import io.whatssound.realtime.postgres.DrainSummary;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;

/**
 * A SessionPool's replicas from its pods' connections: {@code ceil(connections / targetConnectionsPerPod)} within
 * {@code minReplicas..maxReplicas}, as an HPA on an average-value metric would. A change is made only after it has
 * been wanted for its stabilization window, and then the most cautious want of that window is taken (the smallest
 * when scaling up, the largest when scaling down), at most {@code maxStep} pods at a time. Scaling down waits while
 * pods are still starting. Pure: the state between decisions lives in the pool's status.
 */
final class Autoscaler {
  private Autoscaler() {}

  /**
   * @param replicas what spec.replicas should be
   * @param status   the pool's status.autoscaling
   * @param event    a decision to record as an Event: its reason and message
   */
  record Decision(int replicas, AutoscalingStatus status, Optional<String[]> event) {}

  static Decision decide(SessionPoolSpec.Autoscaling a, int current, Optional<Integer> connections, int readyPods,
      AutoscalingStatus previous, Instant now) {
    return decide(a, current, connections, readyPods, previous, now, Integer.MAX_VALUE);
  }

  /**
   * @param maxDownStep the most pods that may go at once ({@link #drainableStep}), below {@code maxStep} when their
   *                    drains would make more reconnects a second than the pool allows
   */
  static Decision decide(SessionPoolSpec.Autoscaling a, int current, Optional<Integer> connections, int readyPods,
      AutoscalingStatus previous, Instant now, int maxDownStep) {
    AutoscalingStatus s = new AutoscalingStatus();
    s.setCurrentReplicas(current);
    s.setLastScaleTime(previous == null ? null : previous.getLastScaleTime());
    if (current < a.getMinReplicas() || current > a.getMaxReplicas()) {
      int bound = current < a.getMinReplicas() ? a.getMinReplicas() : a.getMaxReplicas();
      String reason = current < a.getMinReplicas() ? "BelowMinimum" : "AboveMaximum";
      return scaled(s, current, bound, reason, current + " replicas is outside " + a.getMinReplicas() + ".."
          + a.getMaxReplicas(), now);
    }
    if (connections.isEmpty()) {
      return hold(s, current, "NoMetrics", "no ready pod reported its connections; replicas stay " + current);
    }
    int conn = connections.get();
    int recommended = (int) Math.min(a.getMaxReplicas(), Math.max(a.getMinReplicas(),
        (conn + (long) a.getTargetConnectionsPerPod() - 1) / a.getTargetConnectionsPerPod()));
    s.setRecommendedReplicas(recommended);
    String why = conn + " connections, " + a.getTargetConnectionsPerPod() + " per pod";
    if (recommended == current) {
      return hold(s, current, "Steady", why + ": " + current + " pods");
    }
    boolean up = recommended > current;
    if (!up && readyPods < current) {
      return hold(s, current, "PodsStarting", why + " would need " + recommended + ", but " + (current - readyPods)
          + " pods are not ready yet");
    }
    boolean continuing = previous != null && previous.getPendingSince() != null && previous.getPendingReplicas() != null
        && (previous.getPendingReplicas() > current) == up && previous.getPendingReplicas() != current;
    Instant since = continuing ? Instant.parse(previous.getPendingSince()) : now;
    int pending = !continuing ? recommended
        : up ? Math.min(previous.getPendingReplicas(), recommended) : Math.max(previous.getPendingReplicas(), recommended);
    Duration window = Duration.ofSeconds(up ? a.getScaleUpStabilizationSeconds() : a.getScaleDownStabilizationSeconds());
    if (Duration.between(since, now).compareTo(window) < 0) {
      Decision d = hold(s, current, up ? "ScaleUpPending" : "ScaleDownPending", why + ": " + pending + " pods wanted since "
          + since + ", stable for " + window.toSeconds() + " s first");
      d.status().setPendingSince(since.toString());
      d.status().setPendingReplicas(pending);
      return d;
    }
    int downStep = Math.max(1, Math.min(a.getMaxStep(), maxDownStep));
    int target = up ? Math.min(current + a.getMaxStep(), pending) : Math.max(current - downStep, pending);
    String paced = !up && downStep < a.getMaxStep() && target > pending
        ? " (" + downStep + " at a time, so that their drains stay within " + a.getMaxReconnectsPerSecond()
            + " reconnects a second)" : "";
    return scaled(s, current, target, up ? "ScaledUp" : "ScaledDown", why + paced, now);
  }

  /**
   * How many of the emptiest pods may go at once: a stopping pod tells its sockets to go over
   * {@link DrainSummary#PACED_SHARE} of its drain window, and together the drains should make at most
   * {@code maxReconnectsPerSecond}. At least one pod, or a pool whose pods each hold more could never shrink.
   */
  static int drainableStep(SessionPoolSpec.Autoscaling a, Collection<Long> podSockets, int drainSeconds) {
    double budget = a.getMaxReconnectsPerSecond() * drainSeconds * DrainSummary.PACED_SHARE;
    long sum = 0;
    int pods = 0;
    for (long sockets : podSockets.stream().sorted().toList()) {
      if (sum + sockets > budget) {
        break;
      }
      sum += sockets;
      pods++;
    }
    return Math.max(1, pods);
  }

  /** Ask {@code pod} to let {@code count} sockets go. */
  record Shed(String pod, long count, String message) {}

  /**
   * Rebalancing, once the pool is at its size with every pod ready: when one pod holds more than 1.2 times the target
   * while another has less than 0.8 times it (a scale-up's new pods get no existing sockets), the fullest pod is asked
   * to shed down to the average, at most {@code maxReconnectsPerSecond} for each second of {@code window}.
   */
  static Optional<Shed> rebalance(SessionPoolSpec.Autoscaling a, Map<String, Long> byPod, int replicas,
      int readyPods, Duration window) {
    if (byPod.size() < 2 || byPod.size() < replicas || readyPods < replicas) {
      return Optional.empty();
    }
    var max = byPod.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow();
    long min = byPod.values().stream().mapToLong(Long::longValue).min().orElseThrow();
    long total = byPod.values().stream().mapToLong(Long::longValue).sum();
    long average = (total + byPod.size() - 1) / byPod.size();
    double target = a.getTargetConnectionsPerPod();
    if (max.getValue() <= target * 1.2 || min >= target * 0.8 || max.getValue() <= average) {
      return Optional.empty();
    }
    long count = Math.min(max.getValue() - average, (long) a.getMaxReconnectsPerSecond() * window.toSeconds());
    return Optional.of(new Shed(max.getKey(), count, "pod " + max.getKey() + " holds " + max.getValue()
        + " sockets and another " + min + " (target " + a.getTargetConnectionsPerPod() + "): " + count
        + " of its clients reconnect elsewhere over " + window.toSeconds() + " s"));
  }

  private static Decision hold(AutoscalingStatus s, int current, String reason, String message) {
    s.setDesiredReplicas(current);
    s.setReason(reason);
    s.setMessage(message);
    return new Decision(current, s, Optional.empty());
  }

  private static Decision scaled(AutoscalingStatus s, int from, int to, String reason, String why, Instant now) {
    s.setDesiredReplicas(to);
    s.setReason(reason);
    String message = from + " -> " + to + " replicas: " + why;
    s.setMessage(message);
    s.setLastScaleTime(now.toString());
    return new Decision(to, s, Optional.of(new String[] {reason, message}));
  }
}
