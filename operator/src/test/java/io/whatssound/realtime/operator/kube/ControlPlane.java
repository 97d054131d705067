package io.whatssound.realtime.operator.kube;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubeapitest.KubeAPIServerConfig;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubeapitest.binary.BinaryManager;
import io.fabric8.kubeapitest.cert.CertManager;
import io.fabric8.kubeapitest.kubeconfig.KubeConfig;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.whatssound.realtime.operator.e2e.Examples;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver (RBAC, token signing, and the admission plugins of a
 * default cluster plus OwnerReferencesPermissionEnforcement) and kube-controller-manager (garbage collector, namespace and service-account controllers),
 * from the binaries {@code e2e/build.sh} builds into the folder io.fabric8:kube-api-test reads
 * ({@code $KUBE_API_TEST_DIR}, default {@code ~/.kubeapitest}). kube-api-test finds the binaries (offline: it never
 * downloads) and makes the certificates and the admin kubeconfig; this class runs the processes itself so that the
 * API server can be restarted on the same port and etcd, which kube-api-test cannot do. No kubelet: Deployments are
 * objects, no pod runs.
 *
 * <p>One control plane serves every test class of a JVM ({@link #shared()}); it stops when the JVM exits. Its logs
 * stay in {@code target/control-plane/run-*}.
 */
public final class ControlPlane implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ControlPlane.class);
  private static ControlPlane shared;

  private final Path dir;
  private final Path work;
  private final BinaryManager binaries;
  private final CertManager certs;
  private final int etcdPort;
  private final int apiPort;
  private final Path kubeconfig;
  private Process etcd;
  private Process apiServer;
  private Process controllerManager;

  /** The cache folder e2e/build.sh writes. */
  public static Path cacheDir() {
    String env = System.getenv("KUBE_API_TEST_DIR");
    return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".kubeapitest");
  }

  /** The Kubernetes version pinned in e2e/build/kube/go.mod (the one source of the version). */
  public static String version() {
    Path goMod = repoRoot().resolve("e2e/build/kube/go.mod");
    try {
      for (String line : Files.readAllLines(goMod)) {
        String t = line.trim();
        if (t.startsWith("require k8s.io/kubernetes v") || t.startsWith("k8s.io/kubernetes v")) {
          return t.substring(t.indexOf(" v") + 2).trim();
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    throw new IllegalStateException("no k8s.io/kubernetes version in " + goMod);
  }

  public static Path repoRoot() {
    return Examples.repoRoot();
  }

  /** The folder of this version's binaries. */
  public static Path binDir() {
    return cacheDir().resolve("k8s").resolve(version() + "-linux-amd64");
  }

  /** Null when every binary is there; otherwise a one-line reason naming what is missing and how to build it. */
  public static String missing() {
    List<String> absent = new ArrayList<>();
    for (String b : List.of("etcd", "kube-apiserver", "kube-controller-manager", "kubectl", "helm")) {
      if (!Files.isExecutable(binDir().resolve(b))) {
        absent.add(b);
      }
    }
    return absent.isEmpty() ? null
        : "no " + String.join(", ", absent) + " in " + binDir() + ": run e2e/build.sh (needs Go) to build them";
  }

  /** The control plane every test class of this JVM shares, started on first use. */
  public static synchronized ControlPlane shared() {
    if (shared == null) {
      ControlPlane cp = startNew();
      Runtime.getRuntime().addShutdownHook(new Thread(cp::close, "control-plane-stop"));
      shared = cp;
    }
    return shared;
  }

  /** A control plane of its own, empty as a new cluster (a few seconds to start); the caller closes it. */
  public static ControlPlane startNew() {
    ControlPlane cp = new ControlPlane();
    try {
      cp.start();
    } catch (RuntimeException e) {
      cp.close();
      throw e;
    }
    return cp;
  }

  private ControlPlane() {
    this.dir = cacheDir();
    KubeAPIServerConfig config = KubeAPIServerConfigBuilder.anAPIServerConfig().withTestDir(dir.toString())
        .withApiServerVersion(version()).withOfflineMode(true).build();
    this.binaries = new BinaryManager(config);
    this.certs = new CertManager(dir.toString());
    try {
      // under target/: the processes' logs stay after the run for a look at a failure
      Path parent = Path.of(System.getProperty("control-plane.dir", "target/control-plane")).toAbsolutePath();
      Files.createDirectories(parent);
      this.work = Files.createTempDirectory(parent, "run-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.etcdPort = freePort();
    this.apiPort = freePort();
    this.kubeconfig = work.resolve("kubeconfig");
  }

  private void start() {
    binaries.initAndDownloadIfRequired();
    certs.createCertificatesIfNeeded();
    try {
      Files.writeString(kubeconfig, new KubeConfig(certs, binaries).generateKubeConfigYaml(apiPort));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int peerPort = freePort();
    etcd = run("etcd", List.of(bin("etcd"), "--data-dir", work.resolve("etcd").toString(),
        "--listen-client-urls", "http://127.0.0.1:" + etcdPort, "--advertise-client-urls", "http://127.0.0.1:" + etcdPort,
        "--listen-peer-urls", "http://127.0.0.1:" + peerPort, "--initial-advertise-peer-urls",
        "http://127.0.0.1:" + peerPort, "--initial-cluster", "default=http://127.0.0.1:" + peerPort,
        "--unsafe-no-fsync", "--log-level", "warn"));
    startApiServer();
    controllerManager = run("kube-controller-manager", List.of(bin("kube-controller-manager"),
        "--kubeconfig", kubeconfig.toString(), "--authentication-kubeconfig", kubeconfig.toString(),
        "--authorization-kubeconfig", kubeconfig.toString(),
        "--controllers", "garbagecollector,namespace,serviceaccount", "--leader-elect=false",
        "--secure-port", String.valueOf(freePort()), "--bind-address", "127.0.0.1",
        "--use-service-account-credentials=false", "--concurrent-gc-syncs", "5", "-v", "1"));
    LOG.info("event=control_plane_started version={} api=https://127.0.0.1:{} dir={}", version(), apiPort, work);
  }

  private void startApiServer() {
    apiServer = run("kube-apiserver", List.of(bin("kube-apiserver"),
        "--etcd-servers", "http://127.0.0.1:" + etcdPort,
        "--secure-port", String.valueOf(apiPort), "--bind-address", "127.0.0.1",
        "--tls-cert-file", certs.getAPIServerCertPath(), "--tls-private-key-file", certs.getAPIServerKeyPath(),
        "--client-ca-file", certs.getClientCertPath(),
        "--authorization-mode", "RBAC",
        // as on clusters that enforce it: an owner reference with blockOwnerDeletion needs update on the owner's
        // finalizers
        "--enable-admission-plugins", "OwnerReferencesPermissionEnforcement",
        "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
        "--service-account-key-file", certs.getAPIServerKeyPath(),
        "--service-account-signing-key-file", certs.getAPIServerKeyPath(),
        "--service-cluster-ip-range", "10.0.0.0/24",
        "--cert-dir", work.resolve("apiserver-certs").toString(),
        "--audit-policy-file", auditPolicy().toString(), "--audit-log-path", auditLog().toString(),
        "--audit-log-format", "json",
        "--allow-privileged", "-v", "1"));
    awaitReady();
  }

  /**
   * The API server's audit log: one JSON line per request once its response is complete (verb, URI, user, code),
   * how benchmarks count an operator's requests.
   */
  public Path auditLog() {
    return work.resolve("audit.log");
  }

  private Path auditPolicy() {
    Path policy = work.resolve("audit-policy.yaml");
    try {
      Files.writeString(policy, """
          apiVersion: audit.k8s.io/v1
          kind: Policy
          omitStages: [RequestReceived, ResponseStarted]
          rules:
            - level: Metadata
          """);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return policy;
  }

  /**
   * The chart's operator identity: {@code helm template} of the chart as release {@code release} in
   * {@code namespace} with {@code watched} namespaces (empty: all), its ServiceAccount, roles and bindings applied with
   * kubectl (namespaces made when missing), and a token of that ServiceAccount (valid 2 h).
   */
  public String chartServiceAccountToken(String release, String namespace, List<String> watched) {
    List<String> namespaces = new ArrayList<>(List.of(namespace));
    namespaces.addAll(watched);
    for (String ns : namespaces) {
      if (!kubectl("get", "namespace", ns).ok()) {
        kubectl("create", "namespace", ns).orFail();
      }
    }
    List<String> args = new ArrayList<>(List.of("template", release, chart().toString(), "-n", namespace));
    if (!watched.isEmpty()) {
      args.addAll(List.of("--set", "watchNamespaces={" + String.join(",", watched) + "}"));
    }
    String rendered = cli("helm", args).orFail().out();
    try {
      Path rbac = Files.createTempFile(work, "chart-rbac", ".yaml");
      Files.writeString(rbac, rbacOnly(rendered));
      kubectl("apply", "-f", rbac.toString()).orFail();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return kubectl("create", "token", release + "-realtime-operator", "-n", namespace, "--duration", "2h").orFail()
        .out().trim();
  }

  /** The chart, helm/realtime-operator. */
  public static Path chart() {
    return repoRoot().resolve("helm/realtime-operator");
  }

  /** The ServiceAccount, roles and bindings of a rendered chart (no Deployment). */
  static String rbacOnly(String rendered) {
    Set<String> kinds = Set.of("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding");
    StringBuilder out = new StringBuilder();
    try (var parser = Examples.YAML.getFactory().createParser(rendered)) {
      var it = Examples.YAML.readValues(parser, JsonNode.class);
      while (it.hasNext()) {
        JsonNode doc = it.next();
        if (doc != null && kinds.contains(doc.path("kind").asText())) {
          out.append("---\n").append(Examples.YAML.writeValueAsString(doc).replaceFirst("^---\\n", ""));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** A kubeconfig file that authenticates with {@code token} only. */
  public Path tokenKubeconfig(String name, String token, String namespace) {
    Path f = work.resolve(name + ".kubeconfig");
    try {
      Files.writeString(f, """
          apiVersion: v1
          kind: Config
          clusters: [{name: cp, cluster: {server: "%s", certificate-authority: "%s"}}]
          users: [{name: %s, user: {token: "%s"}}]
          contexts: [{name: %s, context: {cluster: cp, user: %s, namespace: "%s"}}]
          current-context: %s
          """.formatted(url(), certs.getAPIServerCertPath(), name, token, name, name, namespace, name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return f;
  }

  /** {@code kubectl apply -f crds/} (the committed CRDs, as a user applies them), then waits until both are served. */
  public void applyCrds() {
    kubectl("apply", "-f", repoRoot().resolve("crds").toString()).orFail();
    awaitEstablished("realtimeclusters.realtime.whatssound.io");
    awaitEstablished("sessionpools.realtime.whatssound.io");
  }

  /**
   * Until the CRD {@code name} is Established (60 s at most). Polled here rather than with {@code kubectl wait}, which
   * fails at once ("<nil> is of the type <nil>") while a CRD just created has no conditions yet.
   */
  public void awaitEstablished(String name) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    try (KubernetesClient c = admin()) {
      while (true) {
        var crd = c.apiextensions().v1().customResourceDefinitions().withName(name).get();
        if (crd != null && crd.getStatus() != null && crd.getStatus().getConditions() != null && crd.getStatus()
            .getConditions().stream().anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus()))) {
          return;
        }
        if (System.nanoTime() > deadline) {
          throw new AssertionError("CRD " + name + " not Established after 60 s: " + (crd == null ? "absent"
              : crd.getStatus()));
        }
        sleep(100);
      }
    }
  }

  /** Stops the API server (etcd and its data stay) and starts it again on the same port. */
  public void restartApiServer() {
    stop(apiServer);
    startApiServer();
  }

  /** Until the API server answers an admin's request for the namespace {@code default} and has its RBAC bootstrap roles. */
  private void awaitReady() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    String last = "no answer";
    try (KubernetesClient c = admin()) {
      while (System.nanoTime() < deadline) {
        if (!apiServer.isAlive()) {
          throw new IllegalStateException("kube-apiserver exited with " + apiServer.exitValue() + "; see "
              + log("kube-apiserver"));
        }
        try {
          // and the RBAC bootstrap roles in place (system:basic-user lets every identity ask what it may do, which the
          // operator does at start), so a 403 cannot come from a half-ready server
          if (c.namespaces().withName("default").get() != null
              && "ok".equals(c.raw(url() + "/readyz/poststarthook/rbac/bootstrap-roles"))) {
            return;
          }
        } catch (RuntimeException e) {
          last = e.getMessage();
        }
        sleep(250);
      }
    }
    throw new IllegalStateException("kube-apiserver not ready after 120 s: " + last + "; see " + log("kube-apiserver"));
  }

  /** The admin kubeconfig (a client certificate in system:masters) as a file, for kubectl and helm. */
  public Path kubeconfig() {
    return kubeconfig;
  }

  public String url() {
    return "https://127.0.0.1:" + apiPort;
  }

  /** A new admin client; the caller closes it. */
  public KubernetesClient admin() {
    return new KubernetesClientBuilder().withConfig(config(kubeconfig)).build();
  }

  /** A client configuration from a kubeconfig file (the admin's, or one of {@link #tokenKubeconfig}). */
  public static Config config(Path kubeconfigFile) {
    try {
      return Config.fromKubeconfig(null, Files.readString(kubeconfigFile), null);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Runs a binary of the control plane's folder (kubectl, helm) with the admin kubeconfig. */
  public Cli.Result cli(String binary, List<String> args) {
    return Cli.run(bin(binary), args, kubeconfig, Duration.ofMinutes(2));
  }

  public Cli.Result kubectl(String... args) {
    return cli("kubectl", List.of(args));
  }

  public Cli.Result helm(String... args) {
    return cli("helm", List.of(args));
  }

  private String bin(String name) {
    return binDir().resolve(name).toString();
  }

  private Path log(String name) {
    return work.resolve(name + ".log");
  }

  private Process run(String name, List<String> command) {
    try {
      return new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log(name).toFile())).start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name, e);
    }
  }

  private static void stop(Process p) {
    if (p == null || !p.isAlive()) {
      return;
    }
    p.destroy();
    try {
      if (!p.waitFor(15, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public synchronized void close() {
    stop(controllerManager);
    stop(apiServer);
    stop(etcd);
    try (var files = Files.walk(work.resolve("etcd"))) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort: etcd's data, the logs stay
    }
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
