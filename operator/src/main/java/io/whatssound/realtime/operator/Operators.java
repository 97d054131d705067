package io.whatssound.realtime.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.operator.reconciler.RealtimeClusterReconciler;
import io.whatssound.realtime.operator.reconciler.SessionPoolReconciler;
import io.whatssound.realtime.operator.reconciler.Timing;
import java.time.Clock;
import java.util.Optional;
import java.util.Set;

/** Builds the JOSDK operator with both reconcilers: one place for production and tests. No server-side apply. */
public final class Operators {
  private Operators() {}

  public static Operator create(KubernetesClient client, Clock clock, DatabaseConnector connector,
      OperatorDefaults defaults, Timing timing, Set<String> namespaces, Optional<LeaderElectionConfiguration> leader) {
    Operator operator = new Operator(o -> {
      o.withKubernetesClient(client)
          .withUseSSAToPatchPrimaryResource(false)
          .withSSABasedCreateUpdateMatchForDependentResources(false)
          .withCloseClientOnStop(false);
      leader.ifPresent(o::withLeaderElectionConfiguration);
    });
    operator.register(new RealtimeClusterReconciler(clock, connector, defaults, timing), c -> {
      if (!namespaces.isEmpty()) {
        c.settingNamespaces(namespaces);
      }
    });
    operator.register(new SessionPoolReconciler(clock, defaults), c -> {
      if (!namespaces.isEmpty()) {
        c.settingNamespaces(namespaces);
      }
    });
    return operator;
  }
}
