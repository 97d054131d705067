package io.whatssound.realtime.operator.model;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudgetBuilder;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.api.SessionPoolSpec;
import java.util.Optional;

/**
 * PodDisruptionBudgets: a pool's (voluntary evictions take at most {@code maxUnavailable} pods at once) and a
 * cluster's PgBouncer's (one instance at a time, so a drain never takes every pooler at once).
 */
public final class DisruptionBudgetModel {
  private DisruptionBudgetModel() {}

  /** Empty when the pool disables its budget. */
  public static Optional<PodDisruptionBudget> build(SessionPool pool) {
    SessionPoolSpec.Disruption d =
        pool.getSpec().getDisruptionBudget() == null ? new SessionPoolSpec.Disruption() : pool.getSpec().getDisruptionBudget();
    if (!d.getEnabled()) {
      return Optional.empty();
    }
    return Optional.of(new PodDisruptionBudgetBuilder()
        .withMetadata(Names.poolObject(pool))
        .withNewSpec()
        .withMaxUnavailable(new IntOrString(d.getMaxUnavailable()))
        .withNewSelector()
        .withMatchLabels(Names.poolSelector(pool))
        .endSelector()
        .endSpec()
        .build());
  }

  /** The pooler's budget: one PgBouncer pod evicted at a time. */
  public static PodDisruptionBudget pooler(RealtimeCluster cluster) {
    String name = cluster.getMetadata().getName();
    return new PodDisruptionBudgetBuilder()
        .withMetadata(Names.clusterObject(cluster, Names.pooler(name), "pooler"))
        .withNewSpec()
        .withMaxUnavailable(new IntOrString(1))
        .withNewSelector()
        .withMatchLabels(Names.poolerSelector(name))
        .endSelector()
        .endSpec()
        .build();
  }
}
