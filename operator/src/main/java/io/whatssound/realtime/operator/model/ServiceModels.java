package io.whatssound.realtime.operator.model;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterSpec;
import java.util.Map;
import java.util.TreeMap;

/** The client Service (ready runtime pods of every pool) and the headless discovery Service (JGroups DNS_PING). */
public final class ServiceModels {
  private ServiceModels() {}

  public static Service client(RealtimeCluster cluster) {
    String name = cluster.getMetadata().getName();
    RealtimeClusterSpec.ClientService svc =
        cluster.getSpec().getService() == null ? new RealtimeClusterSpec.ClientService() : cluster.getSpec().getService();
    Map<String, String> annotations = svc.getAnnotations() == null ? Map.of() : new TreeMap<>(svc.getAnnotations());
    return new ServiceBuilder()
        .withNewMetadata()
        .withName(Names.clientService(name))
        .withNamespace(cluster.getMetadata().getNamespace())
        .withLabels(Names.clusterLabels(name, "runtime"))
        .withAnnotations(annotations)
        .endMetadata()
        .withNewSpec()
        .withType(svc.getType())
        .withSelector(Names.runtimeSelector(name))
        .withPorts(new ServicePortBuilder().withName("http").withProtocol("TCP").withPort(Names.HTTP_PORT)
            .withTargetPort(new IntOrString("http")).build())
        .endSpec()
        .build();
  }

  public static Service discovery(RealtimeCluster cluster) {
    String name = cluster.getMetadata().getName();
    return new ServiceBuilder()
        .withMetadata(Names.clusterObject(cluster, Names.discoveryService(name), "runtime"))
        .withNewSpec()
        .withClusterIP("None")
        .withPublishNotReadyAddresses(true)
        .withSelector(Names.runtimeSelector(name))
        .withPorts(new ServicePortBuilder().withName("cluster").withProtocol("TCP").withPort(Names.CLUSTER_PORT)
            .withTargetPort(new IntOrString("cluster")).build())
        .endSpec()
        .build();
  }
}
