package io.whatssound.realtime.operator.reconciler;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
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
import io.whatssound.realtime.operator.api.SessionPoolSpec;
import io.whatssound.realtime.operator.api.SessionPoolStatus;
import io.whatssound.realtime.operator.metrics.ConnectionMeter;
import io.whatssound.realtime.operator.metrics.OperatorMetrics;
import io.whatssound.realtime.operator.model.Conditions;
import io.whatssound.realtime.operator.model.DisruptionBudgetModel;
import io.whatssound.realtime.operator.model.Hashing;
import io.whatssound.realtime.operator.model.Names;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.operator.model.RuntimeConfigModel;
import io.whatssound.realtime.operator.model.RuntimeDeploymentModel;
import io.whatssound.realtime.postgres.RuntimeEnv;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reconciles a {@link SessionPool}: the runtime Deployment and PodDisruptionBudget, and status (replicas, and the
 * connections its ready pods report, read again every {@link Timing#connectionPoll()}). A pool whose cluster does
 * not exist (or has no configuration yet) waits with a condition and is reconciled when it appears. Every
 * Kubernetes object is read from an informer cache, so a reconcile with nothing to change makes no request; a
 * RealtimeCluster reconciles its pools only when what they depend on changes (see
 * {@link #clusterChangeConcernsPools}).
 */
@ControllerConfiguration(name = "sessionpool")
public class SessionPoolReconciler implements Reconciler<SessionPool> {
  public static final String READY = "Ready";
  public static final String CLUSTER_READY = "ClusterReady";
  private static final Logger LOG = LoggerFactory.getLogger(SessionPoolReconciler.class);
  private static final String CLUSTERS = "clusters";
  private static final String CONFIG_SECRETS = "config-secrets";
  private static final String DEPLOYMENTS = "runtime-deployments";
  private static final String DISRUPTION_BUDGETS = "disruption-budgets";
  private static final String PODS = "runtime-pods";
  /** The ReplicaSet controller removes pods with the lowest cost first. */
  static final String DELETION_COST = "controller.kubernetes.io/pod-deletion-cost";

  private final Clock clock;
  /** What this reconciler last wrote of each owned object (hand edits are restored). */
  private final Applier.Written written = new Applier.Written();
  private final OperatorDefaults defaults;
  private final Timing timing;
  private final ConnectionMeter meter;
  private final OperatorMetrics metrics;
  /**
   * When each pool (namespace/name) last asked a pod to shed: one request at a time, each paced over the poll interval,
   * keeps the pool within maxReconnectsPerSecond. In memory: after an operator restart one request may overlap.
   */
  private final Map<String, Instant> lastShed = new ConcurrentHashMap<>();

  public SessionPoolReconciler(Clock clock, OperatorDefaults defaults, Timing timing, ConnectionMeter meter,
      OperatorMetrics metrics) {
    this.clock = clock;
    this.defaults = defaults;
    this.timing = timing;
    this.meter = meter;
    this.metrics = metrics;
  }

  @Override
  public List<EventSource<?, SessionPool>> prepareEventSources(EventSourceContext<SessionPool> context) {
    var clusters = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(RealtimeCluster.class, SessionPool.class)
            .withName(CLUSTERS)
            .withSecondaryToPrimaryMapper(c -> poolsOf(context, c.getMetadata().getNamespace(), c.getMetadata().getName()))
            .withPrimaryToSecondaryMapper((SessionPool p) -> Set.of(clusterId(p)))
            .withOnUpdateFilter((newer, older) -> {
              boolean concerns = clusterChangeConcernsPools(older, newer);
              metrics.clusterChange(concerns);
              return concerns;
            })
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
            // pools roll on the configuration's content (its hash), not on the Secret's metadata
            .withOnUpdateFilter((newer, older) -> !Objects.equals(newer.getData(), older.getData())
                || !Objects.equals(newer.getStringData(), older.getStringData()))
            .build(),
        context);
    var deployments = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Deployment.class, SessionPool.class)
            .withName(DEPLOYMENTS)
            .withLabelSelector(Names.MANAGED_BY_LABEL + "=" + Names.MANAGED_BY + "," + Names.COMPONENT_LABEL + "=runtime")
            .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(SessionPool.class))
            .build(),
        context);
    var budgets = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(PodDisruptionBudget.class, SessionPool.class)
            .withName(DISRUPTION_BUDGETS)
            .withLabelSelector(Names.MANAGED_BY_LABEL + "=" + Names.MANAGED_BY + "," + Names.COMPONENT_LABEL + "=runtime")
            .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(SessionPool.class))
            .build(),
        context);
    // Runtime pods, for their IPs and readiness when connections are read. Pods change often; only a pod that starts
    // or stops serving (ready with an IP) reconciles its pool, so the count follows it without waiting for the poll.
    // Every pod that goes tells how its drain ended (DrainWatch), from the last status its delete event holds.
    DrainWatch drains = new DrainWatch(metrics,
        (ns, name) -> context.getPrimaryCache().get(new ResourceID(name, ns)),
        new EventRecorder(context.getClient(), clock));
    var pods = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Pod.class, SessionPool.class)
            .withName(PODS)
            .withLabelSelector(Names.MANAGED_BY_LABEL + "=" + Names.MANAGED_BY + "," + Names.COMPONENT_LABEL + "=runtime")
            .withSecondaryToPrimaryMapper(p -> {
              String pool = p.getMetadata().getLabels() == null ? null : p.getMetadata().getLabels().get(Names.POOL_LABEL);
              return pool == null ? Set.of() : Set.of(new ResourceID(pool, p.getMetadata().getNamespace()));
            })
            .withOnAddFilter(ConnectionMeter::ready)
            .withOnUpdateFilter((newer, older) -> ConnectionMeter.ready(newer) != ConnectionMeter.ready(older)
                || ConnectionMeter.ready(newer) && !Objects.equals(newer.getStatus().getPodIP(), older.getStatus().getPodIP()))
            .withOnDeleteFilter((p, unknown) -> {
              drains.podGone(p);
              return ConnectionMeter.ready(p);
            })
            .build(),
        context);
    return List.of(clusters, secrets, deployments, budgets, pods);
  }

  /**
   * Whether a change of a RealtimeCluster concerns its pools: its spec (a new generation) or its deletion. Status
   * updates (lag, partitions, connections, conditions) do not; the configuration pools run with comes through the
   * runtime configuration Secret, which has its own event source.
   */
  static boolean clusterChangeConcernsPools(RealtimeCluster older, RealtimeCluster newer) {
    return !Objects.equals(older.getMetadata().getGeneration(), newer.getMetadata().getGeneration())
        || !Objects.equals(older.getMetadata().getDeletionTimestamp(), newer.getMetadata().getDeletionTimestamp());
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
    Applier applier = new Applier(context.getClient(), written, new EventRecorder(context.getClient(), clock));
    String ns = pool.getMetadata().getNamespace();
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
    Map<String, String> environment = Map.of();
    if (cluster.isEmpty()) {
      conditions.set(CLUSTER_READY, false, "ClusterNotFound", "RealtimeCluster " + clusterName
          + " does not exist in namespace " + ns + "; the pool starts when it does");
    } else if (config.isEmpty()) {
      conditions.set(CLUSTER_READY, false, "WaitingForConfiguration", "RealtimeCluster " + clusterName
          + " has no runtime configuration yet; see its conditions");
    } else {
      conditions.set(CLUSTER_READY, true, "Found", "RealtimeCluster " + clusterName + " is configured");
      InformerEventSource<Deployment, SessionPool> deployments = Applier.cache(context, Deployment.class, DEPLOYMENTS);
      InformerEventSource<PodDisruptionBudget, SessionPool> budgets =
          Applier.cache(context, PodDisruptionBudget.class, DISRUPTION_BUDGETS);
      environment = RuntimeConfigModel.decode(config.get());
      String configHash = Hashing.ofMap(environment);
      applier.apply(RuntimeDeploymentModel.build(pool, configHash, defaults), pool, deployments);
      Optional<PodDisruptionBudget> pdb = DisruptionBudgetModel.build(pool);
      if (pdb.isPresent()) {
        applier.apply(pdb.get(), pool, budgets);
      } else {
        applier.deleteIfPresent(pool.getMetadata().getName(), ns, budgets);
      }
      deployments.get(new ResourceID(pool.getMetadata().getName(), ns))
          .filter(d -> d.getStatus() != null)
          .ifPresent(d -> {
            status.setReplicas(d.getStatus().getReplicas() == null ? 0 : d.getStatus().getReplicas());
            status.setReadyReplicas(d.getStatus().getReadyReplicas() == null ? 0 : d.getStatus().getReadyReplicas());
          });
    }
    int want = pool.getSpec().getReplicas();
    Optional<String> conflict = applier.conflictMessage(pool);
    if (conflict.isPresent()) {
      conditions.set(READY, false, "Conflict", conflict.get());
    } else if (!conditions.isTrue(CLUSTER_READY)) {
      conditions.set(READY, false, "WaitingForCluster", "the pool waits for RealtimeCluster " + clusterName);
    } else if (status.getReadyReplicas() >= want) {
      conditions.set(READY, true, "Available", status.getReadyReplicas() + " of " + want + " pods ready");
    } else {
      conditions.set(READY, false, "PodsNotReady", status.getReadyReplicas() + " of " + want + " pods ready");
    }
    status.setConditions(conditions.list());

    // Connections: what the ready pods report now; when none answers, the last known count stays.
    ConnectionMeter.Reading reading = meter.read(context.getSecondaryResources(Pod.class));
    status.setConnections(reading.total().orElse(previous.getConnections()));
    SessionPoolSpec.Autoscaling auto = pool.getSpec().getAutoscaling();
    if (auto != null && conditions.isTrue(CLUSTER_READY) && conflict.isEmpty()) {
      Optional<String> clusterKey = Optional.ofNullable(environment.get(RuntimeEnv.REALTIME_CLUSTER_KEY));
      autoscale(pool, auto, reading, status, previous, context.getClient(), context.getSecondaryResources(Pod.class),
          clusterKey);
    }

    applier.writeStatus(pool, status);
    metrics.pool(pool, status);
    UpdateControl<SessionPool> control = UpdateControl.noUpdate();
    if (auto != null) {
      return control.rescheduleAfter(timing.connectionPoll());
    }
    // Pods with clients are read again after the poll interval; a pool without ready pods has nothing to read.
    return reading.ready() > 0 ? control.rescheduleAfter(timing.connectionPoll()) : control;
  }

  /**
   * Applies the autoscaler's decision through the pool's scale subresource. Before pods go, each ready pod's
   * {@code controller.kubernetes.io/pod-deletion-cost} is set to its connections, so the emptiest pods are removed.
   */
  private void autoscale(SessionPool pool, SessionPoolSpec.Autoscaling auto, ConnectionMeter.Reading reading,
      SessionPoolStatus status, SessionPoolStatus previous, KubernetesClient client, Set<Pod> pods,
      Optional<String> clusterKey) {
    int current = pool.getSpec().getReplicas();
    Autoscaler.Decision d = Autoscaler.decide(auto, current, reading.total(), status.getReadyReplicas(),
        previous.getAutoscaling(), clock.instant(),
        Autoscaler.drainableStep(auto, reading.byPod().values(), pool.getSpec().getShutdownDrainSeconds()));
    status.setAutoscaling(d.status());
    if (d.replicas() == current) {
      rebalance(pool, auto, reading, status, client, pods, clusterKey);
      return;
    }
    String ns = pool.getMetadata().getNamespace();
    if (d.replicas() < current) {
      reading.byPod().forEach((pod, connections) -> {
        try {
          client.pods().inNamespace(ns).withName(pod).patch(PatchContext.of(PatchType.JSON_MERGE),
              "{\"metadata\":{\"annotations\":{\"" + DELETION_COST + "\":\"" + Math.min(connections, Integer.MAX_VALUE)
                  + "\"}}}");
        } catch (KubernetesClientException e) {
          LOG.warn("event=deletion_cost_failed namespace={} pod={} error=\"{}\"", ns, pod, e.getMessage());
        }
      });
    }
    client.resources(SessionPool.class).inNamespace(ns).withName(pool.getMetadata().getName()).scale(d.replicas());
    d.event().ifPresent(e -> new EventRecorder(client, clock).normal(pool, e[0], e[1]));
    LOG.info("event=autoscaled namespace={} pool={} from={} to={} reason={}", ns, pool.getMetadata().getName(), current,
        d.replicas(), d.status().getReason());
  }

  /**
   * After a scale-up the new pods hold nothing: the fullest pod is asked to let some clients go, at most
   * {@code maxReconnectsPerSecond} over the poll interval, and they reconnect through the Service.
   */
  private void rebalance(SessionPool pool, SessionPoolSpec.Autoscaling auto, ConnectionMeter.Reading reading,
      SessionPoolStatus status, KubernetesClient client, Set<Pod> pods, Optional<String> clusterKey) {
    String key = pool.getMetadata().getNamespace() + "/" + pool.getMetadata().getName();
    Instant now = clock.instant();
    lastShed.values().removeIf(t -> !now.isBefore(t.plus(timing.connectionPoll())));
    if (lastShed.containsKey(key)) {
      // the last request is still being paced out: another now (a pod's readiness reconciles too) would add its rate
      return;
    }
    Optional<Autoscaler.Shed> shed = Autoscaler.rebalance(auto, reading.byPod(), pool.getSpec().getReplicas(),
        status.getReadyReplicas(), timing.connectionPoll());
    if (shed.isEmpty() || clusterKey.isEmpty()) {
      return;
    }
    Optional<Pod> pod = pods.stream().filter(p -> p.getMetadata().getName().equals(shed.get().pod())).findFirst();
    if (pod.isPresent() && meter.shed(pod.get(), shed.get().count(), timing.connectionPoll(), clusterKey.get())) {
      lastShed.put(key, now);
      status.getAutoscaling().setReason("Rebalancing");
      status.getAutoscaling().setMessage(shed.get().message());
      new EventRecorder(client, clock).normal(pool, "Rebalancing", shed.get().message());
    }
  }
}
