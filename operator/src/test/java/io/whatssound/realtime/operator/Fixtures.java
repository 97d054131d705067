package io.whatssound.realtime.operator;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterSpec;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.api.SessionPoolSpec;
import io.whatssound.realtime.operator.model.RuntimeConfigModel;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Custom resources and Secrets the tests build. */
public final class Fixtures {
  public static final String NS = "party";
  public static final String JWT = "a-jwt-secret-of-at-least-32-characters!!";

  private Fixtures() {}

  public static RealtimeCluster cluster(String name, String host, int port, String db) {
    RealtimeClusterSpec spec = new RealtimeClusterSpec();
    RealtimeClusterSpec.Database d = new RealtimeClusterSpec.Database();
    d.setHost(host);
    d.setPort(port);
    d.setName(db);
    d.setSslMode("disable");
    RealtimeClusterSpec.SecretKeys keys = new RealtimeClusterSpec.SecretKeys();
    keys.setName(name + "-owner");
    d.setCredentialsSecret(keys);
    spec.setDatabase(d);
    RealtimeClusterSpec.Auth auth = new RealtimeClusterSpec.Auth();
    RealtimeClusterSpec.SecretKeyRef ref = new RealtimeClusterSpec.SecretKeyRef();
    ref.setName(name + "-jwt");
    auth.setJwtSecret(ref);
    spec.setAuth(auth);
    RealtimeCluster c = new RealtimeCluster();
    c.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).withUid("uid-" + name).withGeneration(1L).build());
    c.setSpec(spec);
    return c;
  }

  public static SessionPool pool(String name, String cluster, int replicas) {
    SessionPoolSpec spec = new SessionPoolSpec();
    SessionPoolSpec.ClusterRef ref = new SessionPoolSpec.ClusterRef();
    ref.setName(cluster);
    spec.setClusterRef(ref);
    spec.setReplicas(replicas);
    SessionPool p = new SessionPool();
    p.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).withUid("uid-" + name).withGeneration(1L).build());
    p.setSpec(spec);
    return p;
  }

  /** A cluster to create on an API server (which assigns uid and generation), slot and publication named after it. */
  public static RealtimeCluster newCluster(String name, String database, int port) {
    RealtimeCluster c = cluster(name, "127.0.0.1", port, database);
    c.getMetadata().setUid(null);
    c.getMetadata().setGeneration(null);
    c.getSpec().getCdc().setSlot(name.replace('-', '_') + "_slot");
    c.getSpec().getCdc().setPublication(name.replace('-', '_') + "_pub");
    return c;
  }

  /** A pool to create on an API server. */
  public static SessionPool newPool(String name, String cluster, int replicas) {
    SessionPool p = pool(name, cluster, replicas);
    p.getMetadata().setUid(null);
    p.getMetadata().setGeneration(null);
    return p;
  }

  /** The generated CRDs, on a mock API server that does not have them yet. */
  public static void installCrds(KubernetesClient client) throws IOException {
    for (String f : List.of("realtimeclusters.realtime.whatssound.io-v1.yml", "sessionpools.realtime.whatssound.io-v1.yml")) {
      try (var in = new FileInputStream(Path.of(System.getProperty("crds.generated", "target/classes/META-INF/fabric8"))
          .resolve(f).toFile())) {
        CustomResourceDefinition crd = client.getKubernetesSerialization().unmarshal(in, CustomResourceDefinition.class);
        if (client.resource(crd).get() == null) {
          client.resource(crd).create();
        }
      }
    }
  }

  public static Secret ownerSecret(String cluster, String user, String password) {
    return new SecretBuilder().withNewMetadata().withName(cluster + "-owner").withNamespace(NS).endMetadata()
        .withData(RuntimeConfigModel.encode(Map.of("username", user, "password", password))).build();
  }

  public static Secret jwtSecret(String cluster) {
    return new SecretBuilder().withNewMetadata().withName(cluster + "-jwt").withNamespace(NS).endMetadata()
        .withData(RuntimeConfigModel.encode(Map.of("jwt-secret", JWT))).build();
  }
}
