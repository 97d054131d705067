package io.whatssound.realtime.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.metrics.ConnectionMeter;
import io.whatssound.realtime.operator.metrics.OperatorMetrics;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.operator.reconciler.RealtimeClusterReconciler;
import io.whatssound.realtime.operator.reconciler.SessionPoolReconciler;
import io.whatssound.realtime.operator.reconciler.Timing;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/** Builds the JOSDK operator with both reconcilers: one place for production and tests. No server-side apply. */
public final class Operators {
  /** The Lease only the leading operator holds. */
  public static final String LEASE_NAME = "realtime-operator-lock";

  private Operators() {}

  /** With metrics kept in memory and connections read on the runtime's port ({@link ConnectionMeter#standard}). */
  public static Operator create(KubernetesClient client, Clock clock, DatabaseConnector connector,
      OperatorDefaults defaults, Timing timing, Set<String> namespaces, Optional<LeaderElectionConfiguration> leader) {
    OperatorMetrics metrics = new OperatorMetrics(new SimpleMeterRegistry());
    return create(client, clock, connector, defaults, timing, namespaces, leader, metrics,
        ConnectionMeter.standard(metrics));
  }

  /**
   * @param metrics where reconciles, skipped cluster changes and connection reads are counted (JOSDK reports its
   *                reconciles to it)
   * @param meter   reads the runtime pods' connection counts
   */
  public static Operator create(KubernetesClient client, Clock clock, DatabaseConnector connector,
      OperatorDefaults defaults, Timing timing, Set<String> namespaces, Optional<LeaderElectionConfiguration> leader,
      OperatorMetrics metrics, ConnectionMeter meter) {
    Operator operator = new Operator(o -> {
      o.withKubernetesClient(client)
          .withUseSSAToPatchPrimaryResource(false)
          .withSSABasedCreateUpdateMatchForDependentResources(false)
          .withCloseClientOnStop(false)
          .withMetrics(metrics);
      leader.ifPresent(o::withLeaderElectionConfiguration);
    });
    operator.register(new RealtimeClusterReconciler(clock, connector, defaults, timing, metrics), c -> {
      if (!namespaces.isEmpty()) {
        c.settingNamespaces(namespaces);
      }
    });
    operator.register(new SessionPoolReconciler(clock, defaults, timing, meter, metrics), c -> {
      if (!namespaces.isEmpty()) {
        c.settingNamespaces(namespaces);
      }
    });
    return operator;
  }

  /**
   * Leader election through the Lease {@link #LEASE_NAME} in {@code namespace}: only the holder reconciles; the
   * others keep their caches warm and take over once the holder stops renewing for {@code leaseDuration}.
   *
   * @param identity          this instance (the pod name)
   * @param exitOnStopLeading end the process when leadership is lost (production: a new pod starts clean); tests
   *                          that run several operators in one JVM pass false
   */
  public static LeaderElectionConfiguration leaderElection(String namespace, String identity, Duration leaseDuration,
      Duration renewDeadline, Duration retryPeriod, boolean exitOnStopLeading) {
    return LeaderElectionConfigurationBuilder.aLeaderElectionConfiguration(LEASE_NAME)
        .withLeaseNamespace(namespace)
        .withIdentity(identity)
        .withLeaseDuration(leaseDuration)
        .withRenewDeadline(renewDeadline)
        .withRetryPeriod(retryPeriod)
        .withExitOnStopLeading(exitOnStopLeading)
        .build();
  }

  /** Kubernetes' usual timings: a 15 s lease renewed within 10 s, tried every 2 s; the process exits when it loses it. */
  public static LeaderElectionConfiguration leaderElection(String namespace, String identity) {
    return leaderElection(namespace, identity, LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE,
        LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE, LeaderElectionConfiguration.RETRY_PERIOD_DEFAULT_VALUE,
        true);
  }
}
