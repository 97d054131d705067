package io.whatssound.realtime.operator.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/** One tenant: its PostgreSQL database, JWT secret, limits, pooler. */
@Group(RealtimeCluster.GROUP)
@Version(RealtimeCluster.VERSION)
@Kind("RealtimeCluster")
@Plural("realtimeclusters")
@Singular("realtimecluster")
@ShortNames("rtc")
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Endpoint", jsonPath = ".status.endpoints.websocket",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Lag", jsonPath = ".status.replication.lagBytes",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Connections", jsonPath = ".status.connections",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class RealtimeCluster extends CustomResource<RealtimeClusterSpec, RealtimeClusterStatus> implements Namespaced {
  public static final String GROUP = "realtime.whatssound.io";
  public static final String VERSION = "v1alpha1";

  @Override
  protected RealtimeClusterStatus initStatus() {
    return new RealtimeClusterStatus();
  }
}
