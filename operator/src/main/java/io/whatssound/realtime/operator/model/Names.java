package io.whatssound.realtime.operator.model;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterSpec;
import io.whatssound.realtime.operator.api.SessionPool;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** Names and labels of every object the operator creates: one place, so selectors and builders agree. */
public final class Names {
  public static final String LABEL_PREFIX = "realtime.whatssound.io/";
  public static final String CLUSTER_LABEL = LABEL_PREFIX + "cluster";
  public static final String POOL_LABEL = LABEL_PREFIX + "pool";
  public static final String COMPONENT_LABEL = "app.kubernetes.io/component";
  public static final String NAME_LABEL = "app.kubernetes.io/name";
  public static final String INSTANCE_LABEL = "app.kubernetes.io/instance";
  public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
  public static final String MANAGED_BY = "realtime-operator";
  /** Hash of the desired object: the applier updates an object only when it changes. */
  public static final String DESIRED_HASH = LABEL_PREFIX + "desired-hash";
  /** Hash of the runtime configuration on the runtime pod template: a change rolls the pods. */
  public static final String CONFIG_HASH = LABEL_PREFIX + "config-hash";
  /** Hash of the pooler's spec and configuration on its pod template. */
  public static final String SPEC_HASH = LABEL_PREFIX + "spec-hash";

  /** On a RealtimeCluster: "true" deletes it without cleaning its database (when the database or its owner is gone). */
  public static final String SKIP_DATABASE_CLEANUP = LABEL_PREFIX + "skip-database-cleanup";
  public static final int HTTP_PORT = 4000;
  /** The runtime's {@code /metrics} (and probes), apart from the public port. */
  public static final int METRICS_PORT = 9100;
  public static final int CLUSTER_PORT = 7800;
  public static final int POOLER_PORT = 5432;

  private Names() {}

  public static String runtimeConfigSecret(String cluster) {
    return cluster + "-runtime-config";
  }

  public static String runtimeCredentialsSecret(String cluster) {
    return cluster + "-runtime-credentials";
  }

  public static String clientService(String cluster) {
    return cluster;
  }

  public static String discoveryService(String cluster) {
    return cluster + "-discovery";
  }

  public static String pooler(String cluster) {
    return cluster + "-pooler";
  }

  public static String poolerConfigSecret(String cluster) {
    return cluster + "-pooler-config";
  }

  /**
   * The runtime's database role: from the spec; else the one the cluster was provisioned with (status); else
   * {@code realtime_<namespace>_<name>_<hash>}. Roles are server-wide, so the default names the namespace and a hash
   * of {@code namespace/name} (two clusters never share one, whatever their names), cut to leave room for the
   * pooler's {@code _pgb} within PostgreSQL's 63 bytes.
   */
  public static String runtimeRole(RealtimeCluster c) {
    String explicit = c.getSpec().getDatabase().getRuntimeRole();
    if (explicit != null && !explicit.isBlank()) {
      return explicit;
    }
    if (c.getStatus() != null && c.getStatus().getRuntimeRole() != null && !c.getStatus().getRuntimeRole().isBlank()) {
      return c.getStatus().getRuntimeRole();
    }
    return tenantIdentifier("realtime_", c.getMetadata().getNamespace(), c.getMetadata().getName(), 59);
  }

  /**
   * The tenant's replication slot: from the spec; else the one the cluster was provisioned with (status); else
   * {@code realtime_<namespace>_<name>_<hash>}. Slots are server-wide, like roles.
   */
  public static String slot(RealtimeCluster c) {
    RealtimeClusterSpec.Cdc cdc = c.getSpec().getCdc();
    if (cdc != null && cdc.getSlot() != null && !cdc.getSlot().isBlank()) {
      return cdc.getSlot();
    }
    if (c.getStatus() != null && c.getStatus().getReplication() != null && c.getStatus().getReplication().getSlot() != null) {
      return c.getStatus().getReplication().getSlot();
    }
    return tenantIdentifier("realtime_", c.getMetadata().getNamespace(), c.getMetadata().getName(), 63);
  }

  /**
   * A PostgreSQL identifier for a tenant's server-wide object: {@code prefix}, the namespace and name made identifier
   * characters, and 8 hex digits of the hash of {@code namespace/name}, at most {@code max} bytes.
   */
  static String tenantIdentifier(String prefix, String namespace, String name, int max) {
    String hash = Hashing.of(namespace + "/" + name).substring(0, 8);
    String readable = (prefix + namespace + "_" + name).toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
    int room = max - hash.length() - 1;
    return (readable.length() > room ? readable.substring(0, room) : readable) + "_" + hash;
  }

  /** The role PgBouncer's auth_query logs in as. */
  public static String poolerAuthRole(RealtimeCluster c) {
    return runtimeRole(c) + "_pgb";
  }

  /** The metadata of an object a cluster owns: its name, the cluster's namespace and the cluster's labels. */
  public static ObjectMeta clusterObject(RealtimeCluster cluster, String name, String component) {
    return new ObjectMetaBuilder().withName(name).withNamespace(cluster.getMetadata().getNamespace())
        .withLabels(clusterLabels(cluster.getMetadata().getName(), component)).build();
  }

  /** The metadata of an object a pool owns: the pool's name, namespace and labels. */
  public static ObjectMeta poolObject(SessionPool pool) {
    return new ObjectMetaBuilder().withName(pool.getMetadata().getName())
        .withNamespace(pool.getMetadata().getNamespace()).withLabels(poolLabels(pool)).build();
  }

  /** Labels every object of a cluster carries. */
  public static Map<String, String> clusterLabels(String cluster, String component) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(NAME_LABEL, component.equals("pooler") ? "pgbouncer" : "realtime-runtime");
    m.put(INSTANCE_LABEL, cluster);
    m.put(COMPONENT_LABEL, component);
    m.put(MANAGED_BY_LABEL, MANAGED_BY);
    m.put(CLUSTER_LABEL, cluster);
    return m;
  }

  /** Selects every runtime pod of a cluster, whatever its pool (the client and discovery Services). */
  public static Map<String, String> runtimeSelector(String cluster) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(CLUSTER_LABEL, cluster);
    m.put(COMPONENT_LABEL, "runtime");
    return m;
  }

  /** Selects the pods of one pool. */
  public static Map<String, String> poolSelector(SessionPool pool) {
    Map<String, String> m = runtimeSelector(pool.getSpec().getClusterRef().getName());
    m.put(POOL_LABEL, pool.getMetadata().getName());
    return m;
  }

  public static Map<String, String> poolLabels(SessionPool pool) {
    Map<String, String> m = clusterLabels(pool.getSpec().getClusterRef().getName(), "runtime");
    m.put(POOL_LABEL, pool.getMetadata().getName());
    return m;
  }

  public static Map<String, String> poolerSelector(String cluster) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(CLUSTER_LABEL, cluster);
    m.put(COMPONENT_LABEL, "pooler");
    return m;
  }

  /** {@code k=v,k=v}: the form of {@code status.selector} the scale subresource wants. */
  public static String selectorString(Map<String, String> labels) {
    StringBuilder b = new StringBuilder();
    labels.forEach((k, v) -> b.append(b.isEmpty() ? "" : ",").append(k).append('=').append(v));
    return b.toString();
  }
}
