package io.whatssound.realtime.operator.model;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterSpec;
import io.whatssound.realtime.postgres.RuntimeEnv;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The runtime configuration Secret of a cluster: every environment variable a runtime pod of any pool reads
 * (the pool adds its own few). Pure: from the cluster, the runtime role's password and the JWT secret value.
 */
public final class RuntimeConfigModel {
  private RuntimeConfigModel() {}

  /** The environment, sorted by name. */
  public static Map<String, String> environment(RealtimeCluster cluster, String runtimePassword, String clusterKey,
      Optional<String> databaseCa, Optional<String> poolerCa, Optional<String> jwtSecret, OperatorDefaults defaults) {
    RealtimeClusterSpec s = cluster.getSpec();
    String name = cluster.getMetadata().getName();
    String ns = cluster.getMetadata().getNamespace();
    RealtimeClusterSpec.Database db = s.getDatabase();
    String role = Names.runtimeRole(cluster);
    Map<String, String> env = new TreeMap<>();
    env.put(RuntimeEnv.REALTIME_PORT, String.valueOf(Names.HTTP_PORT));
    env.put(RuntimeEnv.REALTIME_METRICS_PORT, String.valueOf(Names.METRICS_PORT));
    String direct = postgresUrl(role, runtimePassword, db.getHost(), db.getPort(), db.getName(), db.getSslMode());
    env.put(RuntimeEnv.REALTIME_DB_URL, direct);
    env.put(RuntimeEnv.REALTIME_DB_POOL_URL, poolerEnabled(s)
        ? postgresUrl(role, runtimePassword, Names.pooler(name) + "." + ns + ".svc", Names.POOLER_PORT, db.getName(),
            poolerCa.isPresent() ? "verify-full" : "disable")
        : direct);
    env.put(RuntimeEnv.REALTIME_DB_PROVISION, "false");
    databaseCa.ifPresent(pem -> env.put(RuntimeEnv.REALTIME_DB_CA, pem));
    poolerCa.filter(pem -> poolerEnabled(s)).ifPresent(pem -> env.put(RuntimeEnv.REALTIME_DB_POOL_CA, pem));
    RealtimeClusterSpec.Cdc cdc = s.getCdc() == null ? new RealtimeClusterSpec.Cdc() : s.getCdc();
    env.put(RuntimeEnv.REALTIME_PUBLICATION, cdc.getPublication());
    env.put(RuntimeEnv.REALTIME_SLOT, Names.slot(cluster));
    jwtSecret.ifPresent(v -> env.put(RuntimeEnv.REALTIME_JWT_SECRET, v));
    if (s.getAuth().getJwksUrl() != null) {
      env.put(RuntimeEnv.REALTIME_JWT_JWKS, s.getAuth().getJwksUrl());
    }
    RealtimeClusterSpec.Limits l = s.getLimits() == null ? new RealtimeClusterSpec.Limits() : s.getLimits();
    env.put(RuntimeEnv.REALTIME_MAX_CONCURRENT_USERS, value(l.getMaxConcurrentUsers(), 200));
    env.put(RuntimeEnv.REALTIME_MAX_EVENTS_PER_SECOND, value(l.getMaxEventsPerSecond(), 100));
    env.put(RuntimeEnv.REALTIME_MAX_JOINS_PER_SECOND, value(l.getMaxJoinsPerSecond(), 100));
    env.put(RuntimeEnv.REALTIME_MAX_CHANNELS_PER_CLIENT, value(l.getMaxChannelsPerClient(), 100));
    env.put(RuntimeEnv.REALTIME_MAX_PAYLOAD_KB, value(l.getMaxPayloadKb(), 3000));
    env.put(RuntimeEnv.REALTIME_MAX_PRESENCE_CALLS, value(l.getMaxPresenceCalls(), 5));
    env.put(RuntimeEnv.REALTIME_PRESENCE_WINDOW_SECONDS, value(l.getPresenceWindowSeconds(), 30));
    env.put(RuntimeEnv.REALTIME_PRIVATE_ONLY, String.valueOf(s.getPrivateOnly()));
    RealtimeClusterSpec.History h = s.getHistory();
    if (h != null) {
      env.put(RuntimeEnv.REALTIME_HISTORY_TOPICS, csv(h.getTopics()));
      env.put(RuntimeEnv.REALTIME_HISTORY_RETENTION_HOURS, String.valueOf(h.getRetentionHours()));
      env.put(RuntimeEnv.REALTIME_HISTORY_BATCH_MS, String.valueOf(h.getBatchIntervalMs()));
      env.put(RuntimeEnv.REALTIME_REPLAY_MAX, String.valueOf(h.getReplayMax()));
      env.put(RuntimeEnv.REALTIME_LATEST_EVENTS, csv(h.getLatestEvents()));
    }
    env.put(RuntimeEnv.REALTIME_CLUSTER_DNS, Names.discoveryService(name) + "." + ns + ".svc." + defaults.clusterDomain());
    env.put(RuntimeEnv.REALTIME_CLUSTER_PORT, String.valueOf(Names.CLUSTER_PORT));
    env.put(RuntimeEnv.REALTIME_CLUSTER_KEY, clusterKey);
    return env;
  }

  public static Secret secret(RealtimeCluster cluster, Map<String, String> environment) {
    String name = cluster.getMetadata().getName();
    return new SecretBuilder()
        .withNewMetadata()
        .withName(Names.runtimeConfigSecret(name))
        .withNamespace(cluster.getMetadata().getNamespace())
        .withLabels(Names.clusterLabels(name, "runtime"))
        .endMetadata()
        .withType("Opaque")
        .withData(encode(environment))
        .build();
  }

  /** {@code postgres://user:password@host:port/db?sslmode=...}, user and password URL-encoded. */
  public static String postgresUrl(String user, String password, String host, int port, String db, String sslMode) {
    return "postgres://" + enc(user) + ":" + enc(password) + "@" + host + ":" + port + "/" + enc(db)
        + "?sslmode=" + sslMode;
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  public static boolean poolerEnabled(RealtimeClusterSpec s) {
    return s.getPooler() == null || s.getPooler().getEnabled();
  }

  /** Non-blank entries, trimmed, comma-separated: the runtime's list form. */
  private static String csv(List<String> values) {
    return values == null ? "" : values.stream().filter(v -> v != null && !v.isBlank()).map(String::trim)
        .collect(Collectors.joining(","));
  }

  private static String value(Integer v, int dflt) {
    return String.valueOf(v == null ? dflt : v);
  }

  public static Map<String, String> encode(Map<String, String> plain) {
    Map<String, String> out = new TreeMap<>();
    plain.forEach((k, v) -> out.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
    return out;
  }

  public static Map<String, String> decode(Secret secret) {
    Map<String, String> out = new TreeMap<>();
    if (secret.getData() != null) {
      secret.getData().forEach((k, v) -> out.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
    }
    if (secret.getStringData() != null) {
      out.putAll(secret.getStringData());
    }
    return out;
  }
}
