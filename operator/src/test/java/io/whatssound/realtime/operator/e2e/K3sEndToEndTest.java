package io.whatssound.realtime.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.LocalPortForward;
import io.whatssound.realtime.operator.kube.ControlPlane;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * {@link ListeningPartyScenario} on K3s in Docker (Testcontainers), for machines that have Docker: the same steps
 * as on the single-node cluster of e2e/cluster.sh. This host reaches pods through port-forwards, and Services through
 * a {@link ServiceForward}, which forwards each connection to a ready pod of the Service in turn (kubectl port-forward
 * would pin one pod, and lose every client when a rolling update replaces it). PostgreSQL ({@code postgres:17}) and PgBouncer (the chart's
 * default image) come from Docker Hub; the operator and runtime images must exist where K3s can get them:
 *
 * <ul>
 *   <li>a registry the K3s container can pull from (pushed with {@code -Pimage}, see docs/kubernetes.md "Images"):
 *       <pre>
 * ./mvnw -B -Pimage package -DskipTests -pl realtime-postgres,realtime-runtime,operator -Dimage.registry=REGISTRY
 * ./mvnw -B verify -pl realtime-postgres,operator -DskipNodeTests -Dtest=K3sEndToEndTest \
 *   -Dk3s.operatorImage=REGISTRY/realtime-operator:0.1.0-SNAPSHOT -Dk3s.runtimeImage=REGISTRY/realtime-runtime:0.1.0-SNAPSHOT
 *       </pre>
 *   <li>image tarballs K3s imports when it starts (no registry): {@code -Dk3s.imageTars=a.tar,b.tar}, e.g. the
 *       {@code target/jib-image.tar} files of Jib's {@code buildTar} goal (renamed, both are called the same) or
 *       {@code docker save} output; {@code k3s.operatorImage}/{@code k3s.runtimeImage} are then the names inside
 *       them. Do not use the tag {@code latest}.
 * </ul>
 *
 * <p>kubectl and helm are the binaries of e2e/build.sh. {@code -Dk3s.image=rancher/k3s:<tag>} picks the Kubernetes
 * version. Skipped (every step, with the reason) where Docker, the images or the binaries are missing.
 */
class K3sEndToEndTest extends ListeningPartyScenario {
  static final String K3S_IMAGE = System.getProperty("k3s.image", "rancher/k3s:v1.31.4-k3s1");
  static final String OPERATOR_IMAGE = System.getProperty("k3s.operatorImage");
  static final String RUNTIME_IMAGE = System.getProperty("k3s.runtimeImage");
  static final String IMAGE_TARS = System.getProperty("k3s.imageTars", "");

  @Override
  protected ScenarioCluster open() {
    assumeTrue(DockerClientFactory.instance().isDockerAvailable(),
        "Docker is not available: K3sEndToEndTest (a real Kubernetes cluster in Docker) is skipped; "
            + "e2e/run.sh cluster runs the same scenario without Docker");
    assumeTrue(OPERATOR_IMAGE != null && RUNTIME_IMAGE != null,
        "K3sEndToEndTest is skipped: set -Dk3s.operatorImage=... and -Dk3s.runtimeImage=... to images K3s can pull "
            + "or import (-Dk3s.imageTars=...); see the class comment");
    String missing = ControlPlane.missing();
    assumeTrue(missing == null, "K3sEndToEndTest is skipped: " + missing);
    K3sContainer k3s = new K3sContainer(DockerImageName.parse(K3S_IMAGE));
    int i = 0;
    for (String tar : IMAGE_TARS.split(",")) {
      if (!tar.isBlank()) {
        Path p = Path.of(tar.trim()).toAbsolutePath();
        assertTrue(Files.isRegularFile(p), "k3s.imageTars: no file " + p);
        // K3s imports every tarball of this folder into containerd when it starts
        k3s.withCopyFileToContainer(MountableFile.forHostPath(p), "/var/lib/rancher/k3s/agent/images/image-" + i++ + ".tar");
      }
    }
    k3s.start();
    Path kubeconfig;
    try {
      kubeconfig = Files.createTempDirectory("k3s").resolve("kubeconfig");
      Files.writeString(kubeconfig, k3s.getKubeConfigYaml());
    } catch (IOException e) {
      k3s.stop();
      throw new UncheckedIOException(e);
    }
    KubernetesClient client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(k3s.getKubeConfigYaml()))
        .build();
    return new ScenarioCluster() {
      @Override
      public String description() {
        return K3S_IMAGE + " in Docker";
      }

      @Override
      public Path kubeconfig() {
        return kubeconfig;
      }

      @Override
      public Path tools() {
        return ControlPlane.binDir();
      }

      @Override
      public List<String> chartImages() {
        String[] operator = splitImage(OPERATOR_IMAGE);
        String[] runtime = splitImage(RUNTIME_IMAGE);
        return List.of("--set", "images.operator.repository=" + operator[0], "--set", "images.operator.tag=" + operator[1],
            "--set", "images.runtime.repository=" + runtime[0], "--set", "images.runtime.tag=" + runtime[1]);
      }

      @Override
      public String[] replaceImage(String image) {
        return null;
      }

      @Override
      public Address service(String namespace, String name, int port) {
        ServiceForward f = new ServiceForward(client, namespace, name, port);
        return new Address("127.0.0.1", f.localPort(), f);
      }

      @Override
      public Address pod(String namespace, String name, int port) {
        LocalPortForward f = client.pods().inNamespace(namespace).withName(name).portForward(port);
        return new Address("127.0.0.1", f.getLocalPort(), f);
      }

      @Override
      public boolean servicesSpread() {
        return true;
      }

      @Override
      public void close() {
        client.close();
        k3s.stop();
      }
    };
  }

  /**
   * A local port whose every connection goes to the next ready pod behind a Service (round robin), through a fresh
   * port-forward: what a node's Service routing does, for a host outside the cluster.
   */
  static final class ServiceForward implements AutoCloseable {
    private final KubernetesClient client;
    private final String namespace;
    private final String service;
    private final int port;
    private final ServerSocket server;
    private final AtomicInteger next = new AtomicInteger();
    private final ExecutorService pumps = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "service-forward");
      t.setDaemon(true);
      return t;
    });

    ServiceForward(KubernetesClient client, String namespace, String service, int port) {
      this.client = client;
      this.namespace = namespace;
      this.service = service;
      this.port = port;
      try {
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      pumps.execute(this::accept);
    }

    int localPort() {
      return server.getLocalPort();
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          Socket socket = server.accept();
          pumps.execute(() -> forward(socket));
        } catch (IOException e) {
          return;
        }
      }
    }

    private void forward(Socket socket) {
      try (socket) {
        var selector = client.services().inNamespace(namespace).withName(service).get().getSpec().getSelector();
        List<String> ready = client.pods().inNamespace(namespace).withLabels(selector).list().getItems().stream()
            .filter(p -> p.getMetadata().getDeletionTimestamp() == null && p.getStatus().getConditions().stream()
                .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus())))
            .map(p -> p.getMetadata().getName()).sorted().toList();
        if (ready.isEmpty()) {
          return;
        }
        String pod = ready.get(Math.floorMod(next.getAndIncrement(), ready.size()));
        try (var f = client.pods().inNamespace(namespace).withName(pod).portForward(port,
            Channels.newChannel(socket.getInputStream()),
            Channels.newChannel(socket.getOutputStream()))) {
          while (f.isAlive() && !socket.isClosed()) {
            Thread.sleep(200);
          }
        }
      } catch (Exception e) {
        // the connection ends; the client sees it closed and reconnects
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
      pumps.shutdownNow();
    }
  }

  /** "registry/name:tag" -> {"registry/name", "tag"} (a port in the registry is not a tag). */
  static String[] splitImage(String image) {
    int colon = image.lastIndexOf(':');
    if (colon < 0 || colon < image.lastIndexOf('/')) {
      throw new IllegalArgumentException("name the image with its tag (repository:tag): " + image);
    }
    return new String[] {image.substring(0, colon), image.substring(colon + 1)};
  }
}
