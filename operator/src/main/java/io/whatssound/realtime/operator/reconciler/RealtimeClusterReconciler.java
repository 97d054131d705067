package io.whatssound.realtime.operator.reconciler;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import io.whatssound.realtime.operator.api.Condition;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterSpec;
import io.whatssound.realtime.operator.api.RealtimeClusterStatus;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.api.SessionPoolSpec;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.metrics.OperatorMetrics;
import io.whatssound.realtime.operator.model.Conditions;
import io.whatssound.realtime.operator.model.DisruptionBudgetModel;
import io.whatssound.realtime.operator.model.Hashing;
import io.whatssound.realtime.operator.model.Names;
import io.whatssound.realtime.operator.model.NetworkPolicyModel;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.operator.model.PgBouncerModel;
import io.whatssound.realtime.operator.model.PoolerTls;
import io.whatssound.realtime.operator.model.RuntimeConfigModel;
import io.whatssound.realtime.operator.model.ServiceModels;
import io.whatssound.realtime.postgres.AppPartitions;
import io.whatssound.realtime.postgres.ContractConflict;
import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseContract;
import io.whatssound.realtime.postgres.PartitionMaintainer;
import io.whatssound.realtime.postgres.PoolerAuth;
import io.whatssound.realtime.postgres.SlotStatus;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reconciles a {@link RealtimeCluster}: Secrets it references, the database contract, the runtime role, slot
 * and partitions, the pooler, the Services and the runtime configuration Secret; sums its pools' connections into
 * status. Everything that does not need the database is reconciled even when the database is down. Every Kubernetes
 * object is read from an informer cache (its event sources), so a reconcile with nothing to change makes no request.
 */
@ControllerConfiguration(name = "realtimecluster")
public class RealtimeClusterReconciler implements Reconciler<RealtimeCluster>, Cleaner<RealtimeCluster> {
  private static final Logger LOG = LoggerFactory.getLogger(RealtimeClusterReconciler.class);
  public static final String READY = "Ready";
  public static final String DATABASE_READY = "DatabaseReady";
  public static final String REPLICATION_READY = "ReplicationReady";
  public static final String PARTITIONS_READY = "PartitionsReady";
  public static final String POOLER_READY = "PoolerReady";
  private static final String SECRETS = "secrets";
  private static final String POOLER_DEPLOYMENTS = "pooler-deployments";
  private static final String SERVICES = "services";
  private static final String POOLS = "pools";
  private static final String NETWORK_POLICIES = "network-policies";
  private static final String POOLER_BUDGETS = "pooler-budgets";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Clock clock;
  /** What this reconciler last wrote of each owned object (hand edits are restored). */
  private final Applier.Written written = new Applier.Written();
  private final DatabaseConnector connector;
  private final OperatorDefaults defaults;
  private final Timing timing;
  private final OperatorMetrics metrics;

  public RealtimeClusterReconciler(Clock clock, DatabaseConnector connector, OperatorDefaults defaults, Timing timing,
      OperatorMetrics metrics) {
    this.metrics = metrics;
    this.clock = clock;
    this.connector = connector;
    this.defaults = defaults;
    this.timing = timing;
  }

  @Override
  public List<EventSource<?, RealtimeCluster>> prepareEventSources(EventSourceContext<RealtimeCluster> context) {
    var ownerMapper = Mappers.<Secret>fromOwnerReferences(RealtimeCluster.class);
    var secrets = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Secret.class, RealtimeCluster.class)
            .withName(SECRETS)
            .withSecondaryToPrimaryMapper(secret -> {
              Set<ResourceID> ids = new HashSet<>(ownerMapper.toPrimaryResourceIDs(secret));
              context.getPrimaryCache().list(secret.getMetadata().getNamespace())
                  .filter(c -> references(c, secret.getMetadata().getName()))
                  .forEach(c -> ids.add(ResourceID.fromResource(c)));
              return ids;
            })
            .build(),
        context);
    var deployments = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Deployment.class, RealtimeCluster.class)
            .withName(POOLER_DEPLOYMENTS)
            .withLabelSelector(Names.MANAGED_BY_LABEL + "=" + Names.MANAGED_BY + "," + Names.COMPONENT_LABEL + "=pooler")
            .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(RealtimeCluster.class))
            .build(),
        context);
    var services = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Service.class, RealtimeCluster.class)
            .withName(SERVICES)
            .withLabelSelector(Names.MANAGED_BY_LABEL + "=" + Names.MANAGED_BY)
            .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(RealtimeCluster.class))
            .build(),
        context);
    // Pools count here only for status.connections: their other status changes do not reconcile the cluster.
    var pools = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(SessionPool.class, RealtimeCluster.class)
            .withName(POOLS)
            .withSecondaryToPrimaryMapper(p -> clusterOf(p).map(Set::of).orElse(Set.of()))
            .withOnUpdateFilter((newer, older) -> !Objects.equals(clusterOf(newer), clusterOf(older))
                || !Objects.equals(connections(newer), connections(older)))
            .build(),
        context);
    var policies = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(NetworkPolicy.class, RealtimeCluster.class)
            .withName(NETWORK_POLICIES)
            .withLabelSelector(Names.MANAGED_BY_LABEL + "=" + Names.MANAGED_BY)
            .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(RealtimeCluster.class))
            .build(),
        context);
    var budgets = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(PodDisruptionBudget.class, RealtimeCluster.class)
            .withName(POOLER_BUDGETS)
            .withLabelSelector(Names.MANAGED_BY_LABEL + "=" + Names.MANAGED_BY + "," + Names.COMPONENT_LABEL + "=pooler")
            .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(RealtimeCluster.class))
            .build(),
        context);
    return List.of(secrets, deployments, services, pools, policies, budgets);
  }

  private static Optional<ResourceID> clusterOf(SessionPool p) {
    SessionPoolSpec.ClusterRef ref = p.getSpec() == null ? null : p.getSpec().getClusterRef();
    return ref == null || ref.getName() == null ? Optional.empty()
        : Optional.of(new ResourceID(ref.getName(), p.getMetadata().getNamespace()));
  }

  private static Integer connections(SessionPool p) {
    return p.getStatus() == null ? null : p.getStatus().getConnections();
  }

  /** The sum over the pools that report connections; null when none does. */
  static Integer totalConnections(Iterable<SessionPool> pools) {
    Long sum = null;
    for (SessionPool p : pools) {
      Integer c = connections(p);
      if (c != null) {
        sum = (sum == null ? 0 : sum) + c;
      }
    }
    return sum == null ? null : (int) Math.min(Integer.MAX_VALUE, sum);
  }

  static boolean references(RealtimeCluster c, String secretName) {
    RealtimeClusterSpec s = c.getSpec();
    if (s == null) {
      return false;
    }
    boolean owner = s.getDatabase() != null && s.getDatabase().getCredentialsSecret() != null
        && secretName.equals(s.getDatabase().getCredentialsSecret().getName());
    boolean jwt = s.getAuth() != null && s.getAuth().getJwtSecret() != null
        && secretName.equals(s.getAuth().getJwtSecret().getName());
    return owner || jwt;
  }

  @Override
  public UpdateControl<RealtimeCluster> reconcile(RealtimeCluster cluster, Context<RealtimeCluster> context) {
    Pass pass = new Pass(cluster, context);
    pass.checkSpec();
    pass.applyServices();
    pass.readSecrets();
    pass.applyPooler();
    pass.provisionDatabase();
    pass.writeRuntimeConfig();
    pass.reportPooler();
    pass.reportReady();
    return pass.finish();
  }

  /**
   * One reconcile of one cluster, as named steps in the order {@link #reconcile} runs them. Each step reads what the
   * earlier ones found (in the fields) and records what it found in the conditions; the status is written once, by
   * {@link #finish}.
   */
  private final class Pass {
    private final RealtimeCluster cluster;
    private final Applier applier;
    private final InformerEventSource<Secret, RealtimeCluster> secrets;
    private final InformerEventSource<Service, RealtimeCluster> services;
    private final InformerEventSource<Deployment, RealtimeCluster> deployments;
    private final InformerEventSource<NetworkPolicy, RealtimeCluster> policies;
    private final InformerEventSource<PodDisruptionBudget, RealtimeCluster> budgets;
    private final String ns;
    private final String name;
    private final RealtimeClusterSpec spec;
    private final RealtimeClusterSpec.Pooler pooler;
    private final RealtimeClusterStatus previous;
    private final RealtimeClusterStatus status = new RealtimeClusterStatus();
    private final Conditions conditions;
    private final Context<RealtimeCluster> context;
    private Duration next = timing.slotPoll();
    private Optional<ContractSettings> settings = Optional.empty();
    /** Why the owner credentials cannot be read, when they cannot. */
    private Optional<String> ownerMissing = Optional.empty();
    private Optional<String[]> ownerCreds = Optional.empty();
    private Optional<String> jwt = Optional.empty();
    private Optional<String> jwtMissing = Optional.empty();
    /** The database's CA (PEM) from spec.database.caSecret, and why it cannot be read when it cannot. */
    private Optional<String> caPem = Optional.empty();
    private Optional<String> caMissing = Optional.empty();
    private String runtimePassword;
    private String poolerPassword;
    private String clusterKey;
    /** PgBouncer's certificate for the runtime pods, when they reach it over TLS. */
    private Optional<PoolerTls.Material> poolerTls = Optional.empty();
    private boolean poolerInvalid;
    private boolean dbOk;

    Pass(RealtimeCluster cluster, Context<RealtimeCluster> context) {
      this.context = context;
      this.cluster = cluster;
      this.applier = new Applier(context.getClient(), written, new EventRecorder(context.getClient(), clock));
      this.secrets = Applier.cache(context, Secret.class, SECRETS);
      this.services = Applier.cache(context, Service.class, SERVICES);
      this.deployments = Applier.cache(context, Deployment.class, POOLER_DEPLOYMENTS);
      this.policies = Applier.cache(context, NetworkPolicy.class, NETWORK_POLICIES);
      this.budgets = Applier.cache(context, PodDisruptionBudget.class, POOLER_BUDGETS);
      this.ns = cluster.getMetadata().getNamespace();
      this.name = cluster.getMetadata().getName();
      this.spec = cluster.getSpec();
      this.pooler = spec.getPooler() == null ? new RealtimeClusterSpec.Pooler() : spec.getPooler();
      this.previous = cluster.getStatus() == null ? new RealtimeClusterStatus() : cluster.getStatus();
      this.conditions = new Conditions(previous.getConditions(), clock, cluster.getMetadata().getGeneration());
      status.setObservedGeneration(cluster.getMetadata().getGeneration());
      status.setRuntimeRole(Names.runtimeRole(cluster));
      status.setContractHash(previous.getContractHash());
      status.setPartitions(previous.getPartitions());
      status.setReplication(previous.getReplication());
      status.setConnections(totalConnections(context.getSecondaryResources(SessionPool.class)));
    }

    /** An invalid spec: a condition and no retry storm. */
    void checkSpec() {
      try {
        settings = Optional.of(contractSettings(cluster));
      } catch (IllegalArgumentException e) {
        conditions.set(DATABASE_READY, false, "InvalidSpec", e.getMessage());
      }
    }

    /** The client and discovery Services and the runtime's NetworkPolicy: they need nothing else. */
    void applyServices() {
      applier.apply(ServiceModels.client(cluster), cluster, services);
      applier.apply(ServiceModels.discovery(cluster), cluster, services);
      applier.apply(NetworkPolicyModel.runtime(cluster), cluster, policies);
      status.setEndpoints(endpoints(cluster));
    }

    /** The owner credentials and the JWT secret the spec names, and the runtime's own (generated once, kept). */
    void readSecrets() {
      RealtimeClusterSpec.SecretKeys ref = spec.getDatabase().getCredentialsSecret();
      Optional<Secret> ownerSecret = secret(secrets, ns, ref.getName());
      if (ownerSecret.isEmpty()) {
        ownerMissing = Optional.of("Secret " + ref.getName() + " (database owner credentials) does not exist in "
            + "namespace " + ns + "; create it with keys " + ref.getUsernameKey() + " and " + ref.getPasswordKey());
      } else {
        Map<String, String> d = RuntimeConfigModel.decode(ownerSecret.get());
        String u = d.get(ref.getUsernameKey());
        String p = d.get(ref.getPasswordKey());
        if (u == null || p == null) {
          ownerMissing = Optional.of("Secret " + ownerSecret.get().getMetadata().getName() + " lacks key "
              + (u == null ? ref.getUsernameKey() : ref.getPasswordKey()));
        } else {
          ownerCreds = Optional.of(new String[] {u, p});
        }
      }
      if (spec.getAuth().getJwtSecret() != null) {
        RealtimeClusterSpec.SecretKeyRef jwtRef = spec.getAuth().getJwtSecret();
        jwt = secret(secrets, ns, jwtRef.getName()).map(s -> RuntimeConfigModel.decode(s).get(jwtRef.getKey()));
        if (jwt.isEmpty()) {
          jwtMissing = Optional.of("Secret " + jwtRef.getName() + " with key " + jwtRef.getKey()
              + " (the JWT secret) does not exist in namespace " + ns + "; create it");
        }
      }
      RealtimeClusterSpec.CaSecret ca = spec.getDatabase().getCaSecret();
      if (ca != null) {
        caPem = databaseCa(secrets, ns, ca);
        if (caPem.isEmpty()) {
          caMissing = Optional.of("Secret " + ca.getName() + " with key " + ca.getKey() + " (the database's CA, "
              + "database.caSecret) does not exist in namespace " + ns + "; create it");
        }
      }
      Map<String, String> creds = runtimeCredentials(secrets, applier, cluster);
      runtimePassword = creds.get("password");
      poolerPassword = creds.get("pooler-password");
      clusterKey = creds.get(CLUSTER_KEY);
      poolerTls = PgBouncerModel.clientTls(spec)
          ? Optional.of(new PoolerTls.Material(creds.get(POOLER_CA), creds.get(POOLER_CERT), creds.get(POOLER_KEY)))
          : Optional.empty();
    }

    /** PgBouncer's configuration, Deployment, Service, NetworkPolicy and budget; all deleted when it is disabled. */
    void applyPooler() {
      if (RuntimeConfigModel.poolerEnabled(spec)) {
        try {
          PgBouncerModel.Files files = PgBouncerModel.render(cluster,
              new PgBouncerModel.Credentials(Names.runtimeRole(cluster), runtimePassword, Names.poolerAuthRole(cluster),
                  poolerPassword), PgBouncerModel.CONFIG_DIR, new PgBouncerModel.Tls(caPem, poolerTls));
          applier.apply(PgBouncerModel.configSecret(cluster, files), cluster, secrets);
          applier.apply(PgBouncerModel.deployment(cluster, files, defaults), cluster, deployments);
          applier.apply(PgBouncerModel.service(cluster), cluster, services);
          applier.apply(NetworkPolicyModel.pooler(cluster), cluster, policies);
          applier.apply(DisruptionBudgetModel.pooler(cluster), cluster, budgets);
        } catch (PgBouncerModel.InvalidParameterException e) {
          poolerInvalid = true;
          conditions.set(POOLER_READY, false, "InvalidParameter", e.getMessage());
        }
      } else {
        applier.deleteIfPresent(Names.pooler(name), ns, deployments);
        applier.deleteIfPresent(Names.pooler(name), ns, services);
        applier.deleteIfPresent(Names.poolerConfigSecret(name), ns, secrets);
        applier.deleteIfPresent(NetworkPolicyModel.poolerName(name), ns, policies);
        applier.deleteIfPresent(Names.pooler(name), ns, budgets);
      }
    }

    /**
     * As the owner: the tenant's claim on the database, the contract and the runtime's role (when they changed or were
     * not ready), the pooler's auth function, the partitions and the slot.
     */
    void provisionDatabase() {
      if (ownerMissing.isPresent() || caMissing.isPresent()) {
        conditions.set(DATABASE_READY, false, "SecretMissing", ownerMissing.orElseGet(caMissing::get));
      } else if (settings.isPresent()) {
        try (Connection c = connector.connect(spec.getDatabase(), ownerCreds.get()[0], ownerCreds.get()[1], caPem)) {
          ContractSettings s = settings.get();
          String contractHash = Hashing.of(s + "|" + Names.runtimeRole(cluster) + "|" + Hashing.of(runtimePassword)
              + "|" + pooler.getAuthMode() + "|" + RuntimeConfigModel.poolerEnabled(spec));
          boolean wasReady = Conditions.find(previous.getConditions(), DATABASE_READY).map(Condition::isTrue)
              .orElse(false);
          // on every reconcile that reaches the database (a read when the claim is there): a cluster provisioned
          // before databases were claimed, or whose claim was removed, claims its database before another tenant can
          claim(c, cluster);
          if (!contractHash.equals(previous.getContractHash()) || !wasReady) {
            DatabaseContract.apply(c, s);
            DatabaseContract.ensureRuntimeRole(c, Names.runtimeRole(cluster), runtimePassword);
            status.setContractHash(contractHash);
            status.setPartitions(null); // maintain now
          }
          conditions.set(DATABASE_READY, true, "Provisioned",
              "schema, publications and role " + Names.runtimeRole(cluster) + " are in place");
          dbOk = true;

          if (RuntimeConfigModel.poolerEnabled(spec) && PgBouncerModel.authQuery(pooler) && !poolerInvalid) {
            try {
              PoolerAuth.ensure(c, Names.poolerAuthRole(cluster), poolerPassword);
            } catch (SQLException e) {
              conditions.set(POOLER_READY, false, "AuthSetupFailed", "the pooler's auth_query function could not be "
                  + "created (" + e.getMessage() + "); it needs a superuser owner, or set pooler.authMode: Userlist");
              poolerInvalid = true;
            }
          }

          try {
            next = min(next, partitions(c, s, spec, status, conditions));
          } catch (SQLException e) {
            // partitions are their own condition: the database, the slot and the pools carry on
            conditions.set(PARTITIONS_READY, false, "MaintenanceFailed", "partition maintenance of realtime.messages "
                + "failed (" + e.getMessage() + ", SQLState " + e.getSQLState() + "); retried");
            next = min(next, timing.minRetry());
          }
          replication(c, s, spec, status, conditions);
        } catch (SQLException e) {
          String reason = e instanceof ContractConflict ? "Conflict"
              : e.getSQLState() != null && e.getSQLState().startsWith("08") ? "Unreachable" : "ProvisioningFailed";
          conditions.set(DATABASE_READY, false, reason, "database " + spec.getDatabase().getHost() + ":"
              + spec.getDatabase().getPort() + "/" + spec.getDatabase().getName() + ": " + e.getMessage()
              + " (SQLState " + e.getSQLState() + "); will retry");
          LOG.warn("event=database_failed namespace={} cluster={} reason={} sqlstate={} error=\"{}\"", ns, name, reason,
              e.getSQLState(), e.getMessage());
        }
      }
    }

    /**
     * The runtime's configuration: first written once DatabaseReady is True (its role and publication exist, its slot
     * was provisioned or refused with a Conflict), so pools start only then; kept current even while the database is
     * unreachable.
     */
    void writeRuntimeConfig() {
      boolean configured = secret(secrets, ns, Names.runtimeConfigSecret(name)).isPresent();
      if (jwtMissing.isEmpty() && (dbOk || configured)) {
        Map<String, String> env =
            RuntimeConfigModel.environment(cluster, runtimePassword, clusterKey, caPem, poolerTls.map(PoolerTls.Material::ca),
                jwt, defaults);
        applier.apply(RuntimeConfigModel.secret(cluster, env), cluster, secrets);
      }
      if (!dbOk) {
        if (!conditions.isTrue(DATABASE_READY) && Conditions.find(conditions.list(), DATABASE_READY)
            .map(c -> !"InvalidSpec".equals(c.getReason())).orElse(true)) {
          next = backoff(conditions);
        }
        conditions.set(REPLICATION_READY, Condition.UNKNOWN, "DatabaseNotReady", "waiting for the database");
        conditions.set(PARTITIONS_READY, Condition.UNKNOWN, "DatabaseNotReady", "waiting for the database");
      }
    }

    /** PoolerReady from the pooler Deployment's ready replicas (unless an earlier step already said why not). */
    void reportPooler() {
      if (!RuntimeConfigModel.poolerEnabled(spec)) {
        conditions.set(POOLER_READY, true, "Disabled", "the pooler is disabled; runtimes connect directly");
      } else if (!poolerInvalid) {
        int ready = deployments.get(new ResourceID(Names.pooler(name), ns))
            .map(d -> d.getStatus() == null || d.getStatus().getReadyReplicas() == null ? 0
                : d.getStatus().getReadyReplicas())
            .orElse(0);
        conditions.set(POOLER_READY, ready > 0, ready > 0 ? "Available" : "NoReadyInstance",
            ready + " of " + pooler.getInstances() + " PgBouncer instances ready");
      }
    }

    /** Ready: no conflict, the JWT secret there, and every other condition True. */
    void reportReady() {
      List<String> notReady = conditions.list().stream().filter(c -> !c.isTrue()).map(Condition::getType).toList();
      Optional<String> conflict = applier.conflictMessage(cluster);
      if (conflict.isPresent()) {
        conditions.set(READY, false, "Conflict", conflict.get());
      } else if (jwtMissing.isPresent()) {
        conditions.set(READY, false, "SecretMissing", jwtMissing.get());
      } else if (notReady.isEmpty()) {
        conditions.set(READY, true, "Ready", "the tenant is provisioned; clients connect to "
            + status.getEndpoints().getWebsocket());
      } else {
        conditions.set(READY, false, "NotReady", "waiting for " + String.join(", ", notReady));
      }
    }

    /** Writes the status (when it changed) and schedules the next reconcile; an invalid spec waits for a change. */
    UpdateControl<RealtimeCluster> finish() {
      status.setConditions(conditions.list());
      applier.writeStatus(cluster, status);
      metrics.cluster(cluster, status, clock.instant());
      metrics.retainPools(ns, name, context.getSecondaryResources(SessionPool.class).stream()
          .map(p -> p.getMetadata().getName()).collect(Collectors.toSet()));
      UpdateControl<RealtimeCluster> control = UpdateControl.noUpdate();
      boolean invalid = Conditions.find(conditions.list(), DATABASE_READY)
          .map(c -> "InvalidSpec".equals(c.getReason())).orElse(false);
      return invalid ? control : control.rescheduleAfter(next);
    }
  }

  private Duration backoff(Conditions conditions) {
    Instant since = Conditions.find(conditions.list(), DATABASE_READY)
        .map(c -> Instant.parse(c.getLastTransitionTime())).orElse(clock.instant());
    Duration down = Duration.between(since, clock.instant());
    Duration d = down.dividedBy(2);
    if (d.compareTo(timing.minRetry()) < 0) {
      return timing.minRetry();
    }
    return d.compareTo(timing.maxRetry()) > 0 ? timing.maxRetry() : d;
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  /**
   * Runs partition maintenance when due (daily; the declared application tables also when their declaration changed or
   * one is not ready yet, every minute); returns the time until the next run.
   */
  private Duration partitions(Connection c, ContractSettings s, RealtimeClusterSpec spec, RealtimeClusterStatus status,
      Conditions conditions) throws SQLException {
    PartitionMaintainer maintainer = new PartitionMaintainer(clock, s.slot());
    RealtimeClusterStatus.PartitionsStatus ps = status.getPartitions();
    Instant now = clock.instant();
    List<RealtimeClusterSpec.AppTable> declared =
        spec.getPartitions() == null || spec.getPartitions().getTables() == null ? List.of()
            : spec.getPartitions().getTables();
    String declaredHash = declared.isEmpty() ? null : Hashing.of(Serialization.asJson(declared));
    boolean due = ps == null || ps.getNextMaintenance() == null || !now.isBefore(Instant.parse(ps.getNextMaintenance()));
    if (due) {
      PartitionMaintainer.Report r = maintainer.maintain(c, s);
      RealtimeClusterStatus.PartitionsStatus fresh = new RealtimeClusterStatus.PartitionsStatus();
      fresh.setOldest(r.oldest().map(Object::toString).orElse(null));
      fresh.setNewest(r.newest().map(Object::toString).orElse(null));
      fresh.setCount(r.count());
      fresh.setNextMaintenance(r.skipped() ? now.plusSeconds(60).toString() : maintainer.nextRun().toString());
      fresh.setTables(ps == null ? null : ps.getTables());
      fresh.setTablesHash(ps == null ? null : ps.getTablesHash());
      ps = fresh;
      status.setPartitions(ps);
    }
    boolean tablesPending = ps.getTables() != null && ps.getTables().stream().anyMatch(t -> !Boolean.TRUE.equals(t.getReady()));
    if (due || tablesPending || !Objects.equals(declaredHash, ps.getTablesHash())) {
      ps.setTables(declared.isEmpty() ? null : appTables(c, declared));
      ps.setTablesHash(declaredHash);
    }
    Duration until = Duration.between(now, Instant.parse(ps.getNextMaintenance()));
    boolean ok = ps.getCount() != null && ps.getCount() > 0;
    Optional<RealtimeClusterStatus.TableStatus> notReady = ps.getTables() == null ? Optional.empty()
        : ps.getTables().stream().filter(t -> !Boolean.TRUE.equals(t.getReady())).findFirst();
    if (!ok) {
      conditions.set(PARTITIONS_READY, false, "NoPartitions", "realtime.messages has no partitions yet; maintenance is "
          + "retried");
    } else if (notReady.isPresent()) {
      conditions.set(PARTITIONS_READY, false, notReady.get().getReason(), notReady.get().getMessage());
      until = Duration.ofMinutes(1).compareTo(until) < 0 ? Duration.ofMinutes(1) : until;
    } else {
      conditions.set(PARTITIONS_READY, true, "Rolling", ps.getCount() + " daily partitions of realtime.messages from "
          + ps.getOldest() + " to " + ps.getNewest() + (ps.getTables() == null ? ""
              : "; " + ps.getTables().size() + " application tables rolling"));
    }
    return until.isNegative() ? Duration.ofSeconds(1) : until;
  }

  /** Maintains each declared application table; a refusal is that table's status, not an error of the run. */
  private List<RealtimeClusterStatus.TableStatus> appTables(Connection c, List<RealtimeClusterSpec.AppTable> declared)
      throws SQLException {
    AppPartitions app = new AppPartitions(clock);
    List<RealtimeClusterStatus.TableStatus> out = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (RealtimeClusterSpec.AppTable d : declared) {
      String qualified = d.getTable().contains(".") ? d.getTable() : "public." + d.getTable();
      if (!seen.add(qualified)) {
        continue;
      }
      AppPartitions.Result r = app.maintain(c, AppPartitions.Table.of(d.getTable(), d.getColumn(),
          AppPartitions.Interval.parse(d.getInterval()), d.getPremake(), Optional.ofNullable(d.getRetention())));
      RealtimeClusterStatus.TableStatus t = new RealtimeClusterStatus.TableStatus();
      t.setTable(r.table().qualified());
      t.setReady(r.ready());
      t.setReason(r.reason());
      t.setMessage(r.message());
      t.setOldest(r.oldest().map(Object::toString).orElse(null));
      t.setNewest(r.newest().map(Object::toString).orElse(null));
      t.setCount(r.count());
      out.add(t);
    }
    return out;
  }

  /** The tenant's name in the database's claim: {@code namespace/name}. */
  static String tenant(RealtimeCluster cluster) {
    return cluster.getMetadata().getNamespace() + "/" + cluster.getMetadata().getName();
  }

  /** Claims the database for this cluster, or fails with what holds it and what to do. */
  private static void claim(Connection c, RealtimeCluster cluster) throws SQLException {
    String tenant = tenant(cluster);
    String holder = DatabaseContract.claim(c, tenant);
    if (!holder.equals(tenant)) {
      throw new ContractConflict("database " + cluster.getSpec().getDatabase().getName() + " already serves "
          + "RealtimeCluster " + holder + "; its realtime schema, messages and publications serve one tenant, so give "
          + tenant + " a database of its own (spec.database.name), or, if " + holder + " is gone for good, "
          + "delete the row of realtime.tenant in that database");
    }
  }

  private void replication(Connection c, ContractSettings s, RealtimeClusterSpec spec, RealtimeClusterStatus status,
      Conditions conditions) throws SQLException {
    try {
      DatabaseContract.ensureSlot(c, s.slot());
    } catch (ContractConflict e) {
      RealtimeClusterStatus.Replication r = new RealtimeClusterStatus.Replication();
      r.setSlot(s.slot());
      status.setReplication(r);
      conditions.set(REPLICATION_READY, false, "Conflict", e.getMessage());
      return;
    }
    Optional<SlotStatus> slot = DatabaseContract.slotStatus(c, s.slot());
    RealtimeClusterStatus.Replication r = new RealtimeClusterStatus.Replication();
    r.setSlot(s.slot());
    if (slot.isEmpty()) {
      status.setReplication(r);
      conditions.set(REPLICATION_READY, false, "SlotMissing", "slot " + s.slot() + " does not exist; it is recreated");
      return;
    }
    SlotStatus st = slot.get();
    long max = spec.getCdc() == null ? 1L << 30 : spec.getCdc().getMaxLagBytes();
    Long previousLag = status.getReplication() == null ? null : status.getReplication().getLagBytes();
    r.setActive(st.active());
    r.setLagBytes(reportedLag(previousLag, st.lagBytes().orElse(null), max));
    r.setWalStatus(st.walStatus().orElse(null));
    // damped like the lag, so that WAL written between two reconciles does not rewrite the status each time
    Long previousRetained = status.getReplication() == null ? null : status.getReplication().getRetainedBytes();
    r.setRetainedBytes(reportedLag(previousRetained, st.retainedBytes().orElse(null), max));
    status.setReplication(r);
    if ("lost".equals(r.getWalStatus())) {
      conditions.set(REPLICATION_READY, false, "SlotLost", "slot " + s.slot()
          + " lost WAL it needed; drop it (kubectl annotate is not enough) and let the operator recreate it");
    } else if (r.getLagBytes() != null && r.getLagBytes() > max) {
      conditions.set(REPLICATION_READY, false, "LagAboveLimit", "slot " + s.slot() + " retains " + r.getLagBytes()
          + " bytes of WAL, above the limit " + max + "; check that a runtime pod streams it");
    } else {
      conditions.set(REPLICATION_READY, true, st.active() ? "Streaming" : "Idle",
          "slot " + s.slot() + (st.active() ? " is streaming" : " exists, no runtime streams it yet"));
    }
  }

  /**
   * The lag to show in status: the measured one, unless it moved less than {@link #LAG_STEP} (or a tenth)
   * from what status already shows without crossing the limit. Lag moves with every WAL write; status
   * writes (and the reconciles they cause) follow only meaningful changes.
   */
  static Long reportedLag(Long previous, Long measured, long max) {
    if (previous == null || measured == null) {
      return measured;
    }
    boolean sameSide = (previous > max) == (measured > max);
    long step = Math.max(LAG_STEP, previous / 10);
    return sameSide && Math.abs(measured - previous) < step ? previous : measured;
  }

  static final long LAG_STEP = 16L * 1024 * 1024;

  static ContractSettings contractSettings(RealtimeCluster cluster) {
    RealtimeClusterSpec spec = cluster.getSpec();
    RealtimeClusterSpec.Cdc cdc = spec.getCdc() == null ? new RealtimeClusterSpec.Cdc() : spec.getCdc();
    RealtimeClusterSpec.Partitions p = spec.getPartitions() == null ? new RealtimeClusterSpec.Partitions() : spec.getPartitions();
    return new ContractSettings(cdc.getPublication(), Optional.ofNullable(cdc.getTables()), cdc.getAllTables(),
        Names.slot(cluster), p.getPremakeDays(), Duration.ofHours(p.getRetentionHours()));
  }

  private RealtimeClusterStatus.Endpoints endpoints(RealtimeCluster cluster) {
    String host = Names.clientService(cluster.getMetadata().getName()) + "." + cluster.getMetadata().getNamespace() + ".svc";
    RealtimeClusterStatus.Endpoints e = new RealtimeClusterStatus.Endpoints();
    e.setWebsocket("ws://" + host + ":" + Names.HTTP_PORT + "/realtime/v1/websocket");
    e.setRest("http://" + host + ":" + Names.HTTP_PORT + "/realtime/v1/api/broadcast");
    if (RuntimeConfigModel.poolerEnabled(cluster.getSpec())) {
      e.setPooler(Names.pooler(cluster.getMetadata().getName()) + "." + cluster.getMetadata().getNamespace() + ".svc:"
          + Names.POOLER_PORT);
    }
    return e;
  }

  /** The PEM in the key database.caSecret names, when that Secret and key exist. */
  private static Optional<String> databaseCa(InformerEventSource<Secret, RealtimeCluster> secrets, String ns,
      RealtimeClusterSpec.CaSecret ca) {
    return secret(secrets, ns, ca.getName()).map(s -> RuntimeConfigModel.decode(s).get(ca.getKey()))
        .filter(pem -> !pem.isBlank());
  }

  private static Optional<Secret> secret(InformerEventSource<Secret, RealtimeCluster> secrets, String ns, String name) {
    return secrets.get(new ResourceID(name, ns));
  }

  private Map<String, String> runtimeCredentials(InformerEventSource<Secret, RealtimeCluster> secrets,
      Applier applier, RealtimeCluster cluster) {
    String ns = cluster.getMetadata().getNamespace();
    String secretName = Names.runtimeCredentialsSecret(cluster.getMetadata().getName());
    Map<String, String> data = secret(secrets, ns, secretName).map(RuntimeConfigModel::decode).orElse(Map.of());
    String role = Names.runtimeRole(cluster);
    if (data.get("password") != null && data.get("pooler-password") != null && data.get(CLUSTER_KEY) != null
        && data.get(POOLER_CA) != null && data.get(POOLER_CERT) != null && data.get(POOLER_KEY) != null
        && role.equals(data.get("username"))) {
      return data;
    }
    Map<String, String> fresh = new TreeMap<>();
    fresh.put("username", role);
    fresh.put("password", data.getOrDefault("password", generatePassword()));
    fresh.put("pooler-username", Names.poolerAuthRole(cluster));
    fresh.put("pooler-password", data.getOrDefault("pooler-password", generatePassword()));
    // the key the tenant's pods encrypt their cluster traffic with; a pod without it cannot join
    fresh.put(CLUSTER_KEY, data.getOrDefault(CLUSTER_KEY, generatePassword()));
    // PgBouncer's TLS identity, which the runtime pods verify (used when the database is reached over TLS)
    if (data.get(POOLER_CA) != null && data.get(POOLER_CERT) != null && data.get(POOLER_KEY) != null) {
      fresh.put(POOLER_CA, data.get(POOLER_CA));
      fresh.put(POOLER_CERT, data.get(POOLER_CERT));
      fresh.put(POOLER_KEY, data.get(POOLER_KEY));
    } else {
      PoolerTls.Material tls = PoolerTls.generate(
          PoolerTls.names(cluster.getMetadata().getName(), ns, defaults.clusterDomain()), clock.instant());
      fresh.put(POOLER_CA, tls.ca());
      fresh.put(POOLER_CERT, tls.cert());
      fresh.put(POOLER_KEY, tls.key());
    }
    Secret s = new SecretBuilder()
        .withNewMetadata().withName(secretName).withNamespace(ns)
        .withLabels(Names.clusterLabels(cluster.getMetadata().getName(), "runtime")).endMetadata()
        .withType("Opaque").withData(RuntimeConfigModel.encode(fresh)).build();
    applier.apply(s, cluster, secrets);
    return fresh;
  }

  /** The key of the runtime credentials Secret that holds the tenant's cluster key. */
  static final String CLUSTER_KEY = "cluster-key";
  /** The keys of the runtime credentials Secret that hold PgBouncer's CA, certificate and key. */
  static final String POOLER_CA = "pooler-ca.crt";
  static final String POOLER_CERT = "pooler-tls.crt";
  static final String POOLER_KEY = "pooler-tls.key";

  static String generatePassword() {
    String alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    StringBuilder b = new StringBuilder(32);
    for (int i = 0; i < 32; i++) {
      b.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
    }
    return b.toString();
  }

  /**
   * Deletion order: the cluster's pools first (their pods stream the slot and log in as the runtime role), then, with
   * {@code reclaimPolicy: Delete}, the database objects. A pool whose pods do not go within this limit no longer holds
   * the deletion up (a Warning says so).
   */
  static final Duration POOL_DRAIN_LIMIT = Duration.ofMinutes(5);

  @Override
  public DeleteControl cleanup(RealtimeCluster cluster, Context<RealtimeCluster> context) {
    metrics.forget("cluster", cluster.getMetadata().getNamespace(), cluster.getMetadata().getName());
    EventRecorder events = new EventRecorder(context.getClient(), clock);
    RealtimeClusterSpec spec = cluster.getSpec();
    Duration age = deletionAge(cluster);
    Optional<DeleteControl> pools = drainPools(cluster, context, events, age);
    if (pools.isPresent()) {
      return pools.get();
    }
    if ("true".equalsIgnoreCase(annotation(cluster, Names.SKIP_DATABASE_CLEANUP))) {
      events.warning(cluster, "DatabaseCleanupSkipped", Names.SKIP_DATABASE_CLEANUP + " is set: slot "
          + contractSettings(cluster).slot() + ", publications and role " + Names.runtimeRole(cluster)
          + " are left in database " + spec.getDatabase().getName() + "; drop them by hand when no longer needed");
      return DeleteControl.defaultDelete();
    }
    if (!"Delete".equals(spec.getReclaimPolicy())) {
      events.normal(cluster, "Retained", "reclaimPolicy Retain: slot " + contractSettings(cluster).slot()
          + ", publications and role " + Names.runtimeRole(cluster) + " are left in database "
          + spec.getDatabase().getName() + "; drop them by hand when no longer needed");
      return DeleteControl.defaultDelete();
    }
    Optional<Secret> ownerSecret = secret(Applier.cache(context, Secret.class, SECRETS),
        cluster.getMetadata().getNamespace(), spec.getDatabase().getCredentialsSecret().getName());
    if (ownerSecret.isEmpty()) {
      events.warning(cluster, "DeleteBlocked", "reclaimPolicy Delete needs the owner credentials Secret "
          + spec.getDatabase().getCredentialsSecret().getName() + "; recreate it, or annotate the cluster "
          + Names.SKIP_DATABASE_CLEANUP + "=true to delete it without cleaning the database");
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(deletionRetry(age).toMillis());
    }
    Map<String, String> d = RuntimeConfigModel.decode(ownerSecret.get());
    Optional<String> ca = spec.getDatabase().getCaSecret() == null ? Optional.empty()
        : databaseCa(Applier.cache(context, Secret.class, SECRETS), cluster.getMetadata().getNamespace(),
            spec.getDatabase().getCaSecret());
    try (Connection c = connector.connect(spec.getDatabase(), d.get(spec.getDatabase().getCredentialsSecret().getUsernameKey()),
        d.get(spec.getDatabase().getCredentialsSecret().getPasswordKey()), ca)) {
      Optional<String> holder = DatabaseContract.holder(c);
      if (holder.isPresent() && !holder.get().equals(tenant(cluster))) {
        events.normal(cluster, "DeleteSkipped", "database " + spec.getDatabase().getName() + " serves RealtimeCluster "
            + holder.get() + ", not this one: nothing was dropped");
        return DeleteControl.defaultDelete();
      }
      ContractSettings s = contractSettings(cluster);
      DatabaseContract.dropSlot(c, s.slot());
      DatabaseContract.dropPublications(c, s);
      DatabaseContract.dropRuntimeRole(c, Names.runtimeRole(cluster));
      PoolerAuth.drop(c, Names.poolerAuthRole(cluster));
      DatabaseContract.release(c, tenant(cluster));
      events.normal(cluster, "Deleted", "reclaimPolicy Delete: dropped slot " + s.slot() + ", publications and role "
          + Names.runtimeRole(cluster) + "; user tables are untouched");
      return DeleteControl.defaultDelete();
    } catch (SQLException | RuntimeException e) {
      Duration retry = deletionRetry(age);
      events.warning(cluster, "DeleteBlocked", "reclaimPolicy Delete could not clean the database ("
          + e.getMessage() + "); retrying in " + retry.toSeconds() + " s. Annotate the cluster "
          + Names.SKIP_DATABASE_CLEANUP + "=true to delete it without cleaning the database");
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(retry.toMillis());
    }
  }

  /**
   * Deletes the cluster's pools and waits for them and their runtime pods to go; empty once they are gone (or after
   * {@link #POOL_DRAIN_LIMIT}).
   */
  private Optional<DeleteControl> drainPools(RealtimeCluster cluster, Context<RealtimeCluster> context,
      EventRecorder events, Duration age) {
    String ns = cluster.getMetadata().getNamespace();
    List<SessionPool> pools = List.copyOf(context.getSecondaryResources(SessionPool.class));
    long pods = context.getClient().pods().inNamespace(ns).withLabels(Names.runtimeSelector(cluster.getMetadata()
        .getName())).list().getItems().size();
    if (pools.isEmpty() && pods == 0) {
      return Optional.empty();
    }
    List<String> names = pools.stream().map(p -> p.getMetadata().getName()).sorted().toList();
    if (age.compareTo(POOL_DRAIN_LIMIT) >= 0) {
      events.warning(cluster, "PoolsRemain", "SessionPools " + names + " and " + pods + " runtime pods are still "
          + "there " + POOL_DRAIN_LIMIT.toMinutes() + " minutes after the deletion began; going on with it");
      return Optional.empty();
    }
    List<SessionPool> live = pools.stream().filter(p -> p.getMetadata().getDeletionTimestamp() == null).toList();
    for (SessionPool p : live) {
      context.getClient().resource(p).delete();
    }
    if (!live.isEmpty()) {
      events.normal(cluster, "DeletingPools", "deleting SessionPools " + names + " first: the database is cleaned "
          + "once their pods are gone");
    }
    return Optional.of(DeleteControl.noFinalizerRemoval().rescheduleAfter(timing.minRetry().toMillis()));
  }

  private Duration deletionAge(RealtimeCluster cluster) {
    String ts = cluster.getMetadata().getDeletionTimestamp();
    return ts == null ? Duration.ZERO : Duration.between(Instant.parse(ts), clock.instant());
  }

  /** Retries of a blocked deletion back off with its age: a quarter of it, between the min and max retry. */
  Duration deletionRetry(Duration age) {
    Duration quarter = age.dividedBy(4);
    return quarter.compareTo(timing.minRetry()) < 0 ? timing.minRetry()
        : quarter.compareTo(timing.maxRetry()) > 0 ? timing.maxRetry() : quarter;
  }

  private static String annotation(HasMetadata o, String key) {
    Map<String, String> a = o.getMetadata().getAnnotations();
    return a == null ? null : a.get(key);
  }

  /** Owned objects are garbage-collected through owner references; this lists them for tests and docs. */
  public static List<Class<? extends HasMetadata>> ownedKinds() {
    return List.of(Secret.class, Deployment.class, Service.class, NetworkPolicy.class, PodDisruptionBudget.class);
  }
}
