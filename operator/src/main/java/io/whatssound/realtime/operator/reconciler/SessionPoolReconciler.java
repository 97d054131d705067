package io.whatssound.realtime.operator.reconciler;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudgetBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.api.SessionPoolStatus;
import io.whatssound.realtime.operator.model.Conditions;
import io.whatssound.realtime.operator.model.DisruptionBudgetModel;
import io.whatssound.realtime.operator.model.Hashing;
import io.whatssound.realtime.operator.model.Names;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.operator.model.RuntimeConfigModel;
import io.whatssound.realtime.operator.model.RuntimeDeploymentModel;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reconciles a {@link SessionPool}: the runtime Deployment and PodDisruptionBudget. A pool whose cluster does not
 * exist (or has no configuration yet) waits with a condition and is reconciled when it appears.
 */
@ControllerConfiguration(name = "sessionpool")
public class SessionPoolReconciler implements Reconciler<SessionPool> {
  public static final String READY = "Ready";
  public static final String CLUSTER_READY = "ClusterReady";
  private static final String CLUSTERS = "clusters";
  private static final String CONFIG_SECRETS = "config-secrets";
  private static final String DEPLOYMENTS = "runtime-deployments";

  private final Clock clock;
  private final OperatorDefaults defaults;

  public SessionPoolReconciler(Clock clock, OperatorDefaults defaults) {
    this.clock = clock;
    this.defaults = defaults;
  }

  @Override
  public List<EventSource<?, SessionPool>> prepareEventSources(EventSourceContext<SessionPool> context) {
    var clusters = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(RealtimeCluster.class, SessionPool.class)
            .withName(CLUSTERS)
            .withSecondaryToPrimaryMapper(c -> poolsOf(context, c.getMetadata().getNamespace(), c.getMetadata().getName()))
            .withPrimaryToSecondaryMapper((SessionPool p) -> Set.of(clusterId(p)))
            .build(),
        context);
    var secrets = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Secret.class, SessionPool.class)
            .withName(CONFIG_SECRETS)
            .withLabelSelector(Names.MANAGED_BY_LABEL + "=" + Names.MANAGED_BY + "," + Names.COMPONENT_LABEL + "=runtime")
            .withSecondaryToPrimaryMapper(s -> {
              String cluster = s.getMetadata().getLabels() == null ? null : s.getMetadata().getLabels().get(Names.CLUSTER_LABEL);
              return cluster == null || !s.getMetadata().getName().equals(Names.runtimeConfigSecret(cluster))
                  ? Set.of() : poolsOf(context, s.getMetadata().getNamespace(), cluster);
            })
            .withPrimaryToSecondaryMapper((SessionPool p) -> Set.of(new ResourceID(
                Names.runtimeConfigSecret(p.getSpec().getClusterRef().getName()), p.getMetadata().getNamespace())))
            .build(),
        context);
    var deployments = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Deployment.class, SessionPool.class)
            .withName(DEPLOYMENTS)
            .withLabelSelector(Names.COMPONENT_LABEL + "=runtime")
            .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(SessionPool.class))
            .build(),
        context);
    return List.of(clusters, secrets, deployments);
  }

  private static Set<ResourceID> poolsOf(EventSourceContext<SessionPool> context, String ns, String cluster) {
    return context.getPrimaryCache().list(ns)
        .filter(p -> p.getSpec() != null && p.getSpec().getClusterRef() != null
            && cluster.equals(p.getSpec().getClusterRef().getName()))
        .map(ResourceID::fromResource)
        .collect(Collectors.toSet());
  }

  private static ResourceID clusterId(SessionPool p) {
    return new ResourceID(p.getSpec().getClusterRef().getName(), p.getMetadata().getNamespace());
  }

  @Override
  public UpdateControl<SessionPool> reconcile(SessionPool pool, Context<SessionPool> context) {
    Applier applier = new Applier(context.getClient());
    SessionPoolStatus previous = pool.getStatus() == null ? new SessionPoolStatus() : pool.getStatus();
    Conditions conditions = new Conditions(previous.getConditions(), clock, pool.getMetadata().getGeneration());
    SessionPoolStatus status = new SessionPoolStatus();
    status.setObservedGeneration(pool.getMetadata().getGeneration());
    status.setSelector(Names.selectorString(Names.poolSelector(pool)));
    status.setReplicas(0);
    status.setReadyReplicas(0);
    String clusterName = pool.getSpec().getClusterRef().getName();

    Optional<RealtimeCluster> cluster = context.getSecondaryResource(RealtimeCluster.class, CLUSTERS);
    Optional<Secret> config = context.getSecondaryResource(Secret.class, CONFIG_SECRETS);
    if (cluster.isEmpty()) {
      conditions.set(CLUSTER_READY, false, "ClusterNotFound", "RealtimeCluster " + clusterName
          + " does not exist in namespace " + pool.getMetadata().getNamespace() + "; the pool starts when it does");
    } else if (config.isEmpty()) {
      conditions.set(CLUSTER_READY, false, "WaitingForConfiguration", "RealtimeCluster " + clusterName
          + " has no runtime configuration yet; see its conditions");
    } else {
      conditions.set(CLUSTER_READY, true, "Found", "RealtimeCluster " + clusterName + " is configured");
      String configHash = Hashing.ofMap(RuntimeConfigModel.decode(config.get()));
      Deployment desired = RuntimeDeploymentModel.build(pool, configHash, defaults);
      applier.apply(desired, pool);
      Optional<PodDisruptionBudget> pdb = DisruptionBudgetModel.build(pool);
      if (pdb.isPresent()) {
        applier.apply(pdb.get(), pool);
      } else {
        applier.deleteIfPresent(new PodDisruptionBudgetBuilder().withNewMetadata()
            .withName(pool.getMetadata().getName()).withNamespace(pool.getMetadata().getNamespace()).endMetadata().build());
      }
      context.getSecondaryResources(Deployment.class).stream()
          .filter(d -> d.getMetadata().getName().equals(pool.getMetadata().getName()) && d.getStatus() != null)
          .findFirst()
          .ifPresent(d -> {
            status.setReplicas(d.getStatus().getReplicas() == null ? 0 : d.getStatus().getReplicas());
            status.setReadyReplicas(d.getStatus().getReadyReplicas() == null ? 0 : d.getStatus().getReadyReplicas());
          });
    }
    int want = pool.getSpec().getReplicas();
    if (!conditions.isTrue(CLUSTER_READY)) {
      conditions.set(READY, false, "WaitingForCluster", "the pool waits for RealtimeCluster " + clusterName);
    } else if (status.getReadyReplicas() >= want) {
      conditions.set(READY, true, "Available", status.getReadyReplicas() + " of " + want + " pods ready");
    } else {
      conditions.set(READY, false, "PodsNotReady", status.getReadyReplicas() + " of " + want + " pods ready");
    }
    status.setConditions(conditions.list());
    if (Serialization.asJson(status).equals(Serialization.asJson(pool.getStatus()))) {
      return UpdateControl.noUpdate();
    }
    pool.setStatus(status);
    return UpdateControl.patchStatus(pool);
  }
}
