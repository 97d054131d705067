package io.whatssound.realtime.postgres;

import java.util.List;

/**
 * The runtime's environment variables, named once: the runtime reads them and the operator writes them into each
 * tenant's configuration Secret. docs and the README describe each; this class only spells them.
 */
public final class RuntimeEnv {
  public static final String REALTIME_CLUSTER_BIND = "REALTIME_CLUSTER_BIND";
  public static final String REALTIME_CLUSTER_DNS = "REALTIME_CLUSTER_DNS";
  public static final String REALTIME_CLUSTER_KEY = "REALTIME_CLUSTER_KEY";
  public static final String REALTIME_CLUSTER_FAILURE_DETECTION_MS = "REALTIME_CLUSTER_FAILURE_DETECTION_MS";
  public static final String REALTIME_CLUSTER_MERGE_INTERVAL_MS = "REALTIME_CLUSTER_MERGE_INTERVAL_MS";
  public static final String REALTIME_CLUSTER_NAME = "REALTIME_CLUSTER_NAME";
  public static final String REALTIME_CLUSTER_PEERS = "REALTIME_CLUSTER_PEERS";
  public static final String REALTIME_CLUSTER_PORT = "REALTIME_CLUSTER_PORT";
  public static final String REALTIME_CLUSTER_STATUS_INTERVAL_MS = "REALTIME_CLUSTER_STATUS_INTERVAL_MS";
  public static final String REALTIME_DB_POOL_URL = "REALTIME_DB_POOL_URL";
  public static final String REALTIME_DB_PROVISION = "REALTIME_DB_PROVISION";
  public static final String REALTIME_DB_CA = "REALTIME_DB_CA";
  public static final String REALTIME_DB_POOL_CA = "REALTIME_DB_POOL_CA";
  public static final String REALTIME_DB_URL = "REALTIME_DB_URL";
  public static final String REALTIME_EMBEDDED_DB_PORT = "REALTIME_EMBEDDED_DB_PORT";
  public static final String REALTIME_HISTORY_BATCH_MS = "REALTIME_HISTORY_BATCH_MS";
  public static final String REALTIME_HISTORY_RETENTION_HOURS = "REALTIME_HISTORY_RETENTION_HOURS";
  public static final String REALTIME_HISTORY_TOPICS = "REALTIME_HISTORY_TOPICS";
  public static final String REALTIME_HOST = "REALTIME_HOST";
  public static final String REALTIME_IDLE_TIMEOUT_MS = "REALTIME_IDLE_TIMEOUT_MS";
  public static final String REALTIME_JOIN_ERROR_DELAY_MS = "REALTIME_JOIN_ERROR_DELAY_MS";
  public static final String REALTIME_JWT_JWKS = "REALTIME_JWT_JWKS";
  public static final String REALTIME_JWT_SECRET = "REALTIME_JWT_SECRET";
  public static final String REALTIME_LATEST_EVENTS = "REALTIME_LATEST_EVENTS";
  public static final String REALTIME_MAX_CHANNELS_PER_CLIENT = "REALTIME_MAX_CHANNELS_PER_CLIENT";
  public static final String REALTIME_MAX_CONCURRENT_USERS = "REALTIME_MAX_CONCURRENT_USERS";
  public static final String REALTIME_MAX_EVENTS_PER_SECOND = "REALTIME_MAX_EVENTS_PER_SECOND";
  public static final String REALTIME_MAX_JOINS_PER_SECOND = "REALTIME_MAX_JOINS_PER_SECOND";
  public static final String REALTIME_MAX_PAYLOAD_KB = "REALTIME_MAX_PAYLOAD_KB";
  public static final String REALTIME_MAX_PRESENCE_CALLS = "REALTIME_MAX_PRESENCE_CALLS";
  public static final String REALTIME_METRICS_PORT = "REALTIME_METRICS_PORT";
  public static final String REALTIME_PORT = "REALTIME_PORT";
  public static final String REALTIME_PRESENCE_WINDOW_SECONDS = "REALTIME_PRESENCE_WINDOW_SECONDS";
  public static final String REALTIME_PRIVATE_ONLY = "REALTIME_PRIVATE_ONLY";
  public static final String REALTIME_PRIVATE_ROLES = "REALTIME_PRIVATE_ROLES";
  public static final String REALTIME_PUBLICATION = "REALTIME_PUBLICATION";
  public static final String REALTIME_REPLAY_MAX = "REALTIME_REPLAY_MAX";
  public static final String REALTIME_SHUTDOWN_DRAIN_MS = "REALTIME_SHUTDOWN_DRAIN_MS";
  public static final String REALTIME_SLOT = "REALTIME_SLOT";
  public static final String REALTIME_SLOW_CONSUMER_DROPS = "REALTIME_SLOW_CONSUMER_DROPS";

  /** Every variable the runtime reads. */
  public static final List<String> ALL = List.of(
      REALTIME_CLUSTER_BIND,
      REALTIME_CLUSTER_DNS,
      REALTIME_CLUSTER_FAILURE_DETECTION_MS,
      REALTIME_CLUSTER_KEY,
      REALTIME_CLUSTER_MERGE_INTERVAL_MS,
      REALTIME_CLUSTER_NAME,
      REALTIME_CLUSTER_PEERS,
      REALTIME_CLUSTER_PORT,
      REALTIME_CLUSTER_STATUS_INTERVAL_MS,
      REALTIME_DB_POOL_URL,
      REALTIME_DB_PROVISION,
      REALTIME_DB_CA,
      REALTIME_DB_POOL_CA,
      REALTIME_DB_URL,
      REALTIME_EMBEDDED_DB_PORT,
      REALTIME_HISTORY_BATCH_MS,
      REALTIME_HISTORY_RETENTION_HOURS,
      REALTIME_HISTORY_TOPICS,
      REALTIME_HOST,
      REALTIME_IDLE_TIMEOUT_MS,
      REALTIME_JOIN_ERROR_DELAY_MS,
      REALTIME_JWT_JWKS,
      REALTIME_JWT_SECRET,
      REALTIME_LATEST_EVENTS,
      REALTIME_MAX_CHANNELS_PER_CLIENT,
      REALTIME_MAX_CONCURRENT_USERS,
      REALTIME_MAX_EVENTS_PER_SECOND,
      REALTIME_MAX_JOINS_PER_SECOND,
      REALTIME_MAX_PAYLOAD_KB,
      REALTIME_MAX_PRESENCE_CALLS,
      REALTIME_METRICS_PORT,
      REALTIME_PORT,
      REALTIME_PRESENCE_WINDOW_SECONDS,
      REALTIME_PRIVATE_ONLY,
      REALTIME_PRIVATE_ROLES,
      REALTIME_PUBLICATION,
      REALTIME_REPLAY_MAX,
      REALTIME_SHUTDOWN_DRAIN_MS,
      REALTIME_SLOT,
      REALTIME_SLOW_CONSUMER_DROPS);

  /** The runtime's gauge of open sockets, which the operator reads from each pod's {@code /metrics}. */
  public static final String CONNECTIONS_GAUGE = "realtime_connections";

  private RuntimeEnv() {}
}
