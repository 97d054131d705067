package io.whatssound.realtime.operator.model;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRuleBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeerBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPortBuilder;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import java.util.List;
import java.util.Map;

/**
 * A tenant's NetworkPolicies: its runtime pods take clients on the HTTP port from anywhere, and cluster traffic
 * (JGroups, and its failure detection on the port above) only from the tenant's own runtime pods; its PgBouncer pods
 * take connections only from the tenant's runtime pods. Another tenant's pods cannot join its cluster or use its
 * pooler. Egress is not restricted.
 */
public final class NetworkPolicyModel {
  /** JGroups' failure detection listens this far above the cluster port. */
  public static final int FAILURE_DETECTION_OFFSET = 100;

  private NetworkPolicyModel() {}

  public static String runtimeName(String cluster) {
    return cluster + "-runtime";
  }

  public static String poolerName(String cluster) {
    return cluster + "-pooler";
  }

  public static NetworkPolicy runtime(RealtimeCluster cluster) {
    String name = cluster.getMetadata().getName();
    return policy(cluster, runtimeName(name), "runtime", Names.runtimeSelector(name), List.of(
        new NetworkPolicyIngressRuleBuilder().addToPorts(tcp(Names.HTTP_PORT)).build(),
        // metrics from pods of any namespace (the operator, Prometheus), never from outside the cluster
        new NetworkPolicyIngressRuleBuilder()
            .addToFrom(new NetworkPolicyPeerBuilder().withNamespaceSelector(new LabelSelectorBuilder().build()).build())
            .addToPorts(tcp(Names.METRICS_PORT)).build(),
        fromRuntimePods(name, Names.CLUSTER_PORT, Names.CLUSTER_PORT + FAILURE_DETECTION_OFFSET)));
  }

  public static NetworkPolicy pooler(RealtimeCluster cluster) {
    String name = cluster.getMetadata().getName();
    return policy(cluster, poolerName(name), "pooler", Names.poolerSelector(name),
        List.of(fromRuntimePods(name, Names.POOLER_PORT)));
  }

  private static NetworkPolicyIngressRule fromRuntimePods(String cluster, int... ports) {
    NetworkPolicyIngressRuleBuilder b = new NetworkPolicyIngressRuleBuilder()
        .addToFrom(new NetworkPolicyPeerBuilder().withPodSelector(new LabelSelectorBuilder()
            .withMatchLabels(Names.runtimeSelector(cluster)).build()).build());
    for (int p : ports) {
      b.addToPorts(tcp(p));
    }
    return b.build();
  }

  private static NetworkPolicyPort tcp(int port) {
    return new NetworkPolicyPortBuilder().withProtocol("TCP").withPort(new IntOrString(port)).build();
  }

  private static NetworkPolicy policy(RealtimeCluster cluster, String name, String component,
      Map<String, String> pods, List<NetworkPolicyIngressRule> ingress) {
    return new NetworkPolicyBuilder()
        .withMetadata(Names.clusterObject(cluster, name, component))
        .withNewSpec()
        .withPodSelector(new LabelSelectorBuilder().withMatchLabels(pods).build())
        .withPolicyTypes("Ingress")
        .withIngress(ingress)
        .endSpec()
        .build();
  }
}
