package io.whatssound.realtime.operator.reconciler;

import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.metrics.OperatorMetrics;
import io.whatssound.realtime.operator.model.Names;
import io.whatssound.realtime.postgres.DrainSummary;
import java.util.Locale;
import java.util.Optional;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the drains of a pool's runtime pods ended. The runtime writes its drain's summary ({@link DrainSummary}) as its
 * container's termination message; the kubelet keeps it in the pod's status, which the pod's delete event still holds.
 * Each pod that goes is counted in {@code realtime_operator_pool_drains_total{outcome}}, and a drain that left sockets
 * at the end of its window, or a runtime the kubelet had to kill, is a Warning Event on the pool.
 */
final class DrainWatch {
  private static final Logger LOG = LoggerFactory.getLogger(DrainWatch.class);
  static final String RUNTIME_CONTAINER = "runtime";
  /** The exit code of a process stopped by SIGKILL (128 + 9): the grace period ended before the runtime did. */
  static final int KILLED_EXIT_CODE = 137;

  enum Outcome {
    OK, OVERRAN, KILLED;

    String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** How one pod's drain ended, and what to say about it. */
  record Ending(Outcome outcome, String message) {}

  private final OperatorMetrics metrics;
  private final BiFunction<String, String, Optional<SessionPool>> pools;
  private final EventRecorder events;

  /**
   * @param pools  the pool of a namespace and name, from the operator's cache
   * @param events where Warning Events go
   */
  DrainWatch(OperatorMetrics metrics, BiFunction<String, String, Optional<SessionPool>> pools, EventRecorder events) {
    this.metrics = metrics;
    this.pools = pools;
    this.events = events;
  }

  /**
   * How the runtime container of a pod that went away ended; empty when it never ran or had not stopped (a pod
   * removed with no grace, or whose status the kubelet had not written).
   */
  static Optional<Ending> ending(Pod pod) {
    if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
      return Optional.empty();
    }
    for (ContainerStatus cs : pod.getStatus().getContainerStatuses()) {
      if (!RUNTIME_CONTAINER.equals(cs.getName()) || cs.getState() == null || cs.getState().getTerminated() == null) {
        continue;
      }
      ContainerStateTerminated t = cs.getState().getTerminated();
      Optional<DrainSummary> summary = DrainSummary.parse(t.getMessage());
      if (summary.isPresent()) {
        DrainSummary d = summary.get();
        return Optional.of(d.overran()
            ? new Ending(Outcome.OVERRAN, d.forced() + " of " + d.sockets() + " sockets were still open when the "
                + d.windowMillis() + " ms drain window ended and were closed without waiting; raise "
                + "spec.shutdownDrainSeconds or run more pods so that each holds fewer")
            : new Ending(Outcome.OK, d.line()));
      }
      if (t.getExitCode() != null && t.getExitCode() == KILLED_EXIT_CODE) {
        return Optional.of(new Ending(Outcome.KILLED, "the runtime was killed (exit code 137, "
            + (t.getReason() == null ? "no reason" : t.getReason()) + ") before its drain finished: the grace period "
            + "ended first, or it ran out of memory"));
      }
      return Optional.empty();
    }
    return Optional.empty();
  }

  /** A runtime pod went away (an informer's delete event): count how its drain ended. */
  void podGone(Pod pod) {
    String pool = pod.getMetadata().getLabels() == null ? null : pod.getMetadata().getLabels().get(Names.POOL_LABEL);
    if (pool == null) {
      return;
    }
    Optional<Ending> ending = ending(pod);
    if (ending.isEmpty()) {
      return;
    }
    String ns = pod.getMetadata().getNamespace();
    Ending e = ending.get();
    metrics.drain(ns, pool, e.outcome().label());
    if (e.outcome() == Outcome.OK) {
      return;
    }
    String message = "pod " + pod.getMetadata().getName() + ": " + e.message();
    LOG.warn("SessionPool {}/{}: {}", ns, pool, message);
    try {
      pools.apply(ns, pool).ifPresent(p -> events.warning(p, "DrainOverran", message));
    } catch (RuntimeException ex) {
      LOG.warn("Could not record the drain of {}/{} as an Event: {}", ns, pod.getMetadata().getName(), ex.getMessage());
    }
  }
}
