package io.whatssound.realtime.operator.model;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudgetBuilder;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.api.SessionPoolSpec;
import java.util.Optional;

/** The PodDisruptionBudget of a pool: voluntary evictions take at most {@code maxUnavailable} pods at once. */
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
        .withNewMetadata()
        .withName(pool.getMetadata().getName())
        .withNamespace(pool.getMetadata().getNamespace())
        .withLabels(Names.poolLabels(pool))
        .endMetadata()
        .withNewSpec()
        .withMaxUnavailable(new IntOrString(d.getMaxUnavailable()))
        .withNewSelector()
        .withMatchLabels(Names.poolSelector(pool))
        .endSelector()
        .endSpec()
        .build());
  }
}
