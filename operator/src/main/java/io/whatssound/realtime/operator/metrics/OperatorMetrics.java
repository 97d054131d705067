package io.whatssound.realtime.operator.metrics;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import io.javaoperatorsdk.operator.api.reconciler.Constants;
import io.javaoperatorsdk.operator.api.reconciler.RetryInfo;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import java.util.Map;

/**
 * The operator's own meters (on {@code /metrics} next to the JVM's): reconciles and failures per controller (JOSDK
 * reports them through {@link Metrics}), RealtimeCluster changes that did or did not concern its pools, and the
 * connection counts read from runtime pods.
 */
public final class OperatorMetrics implements Metrics {
  public static final String RECONCILES = "realtime_operator_reconciles";
  public static final String RECONCILE_FAILURES = "realtime_operator_reconcile_failures";
  public static final String CLUSTER_CHANGES = "realtime_operator_cluster_changes";
  public static final String CONNECTION_READS = "realtime_operator_connection_reads";

  private final MeterRegistry registry;

  public OperatorMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public MeterRegistry registry() {
    return registry;
  }

  @Override
  public void reconcileCustomResource(HasMetadata resource, RetryInfo retryInfo, Map<String, Object> metadata) {
    counter(RECONCILES, "Reconciles started (and clean-ups), per controller", "controller", controller(metadata))
        .increment();
  }

  @Override
  public void failedReconciliation(HasMetadata resource, Exception exception, Map<String, Object> metadata) {
    counter(RECONCILE_FAILURES, "Reconciles that threw (retried with backoff), per controller", "controller",
        controller(metadata)).increment();
  }

  /** A RealtimeCluster changed; {@code concernsPools}: whether its SessionPools are reconciled for it. */
  public void clusterChange(boolean concernsPools) {
    counter(CLUSTER_CHANGES, "RealtimeCluster updates seen by the SessionPool controller, by whether pools reconcile",
        "pools", concernsPools ? "reconciled" : "skipped").increment();
  }

  /** One runtime pod's connection count was read ({@code ok}) or could not be (timeout, refused, no gauge). */
  public void connectionRead(boolean ok) {
    counter(CONNECTION_READS, "Reads of runtime pods' connection gauge, by result", "result", ok ? "ok" : "failed")
        .increment();
  }

  /** Reconciles started so far by a controller ({@code realtimecluster}, {@code sessionpool}). */
  public long reconciles(String controller) {
    return count(RECONCILES, "controller", controller);
  }

  public long clusterChanges(boolean concernsPools) {
    return count(CLUSTER_CHANGES, "pools", concernsPools ? "reconciled" : "skipped");
  }

  public long connectionReads(boolean ok) {
    return count(CONNECTION_READS, "result", ok ? "ok" : "failed");
  }

  private long count(String name, String tag, String value) {
    Counter c = Search.in(registry).name(name).tag(tag, value).counter();
    return c == null ? 0 : (long) c.count();
  }

  private Counter counter(String name, String description, String tag, String value) {
    return Counter.builder(name).description(description).tag(tag, value).register(registry);
  }

  private static String controller(Map<String, Object> metadata) {
    Object name = metadata == null ? null : metadata.get(Constants.CONTROLLER_NAME);
    return name == null ? "unknown" : name.toString();
  }
}
