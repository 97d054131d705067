package io.whatssound.realtime.operator.model;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.whatssound.realtime.operator.api.RealtimeCluster;
import io.whatssound.realtime.operator.api.RealtimeClusterSpec;
import io.whatssound.realtime.postgres.PoolerAuth;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The PgBouncer pooler of a cluster: {@code pgbouncer.ini} rendered from allow-listed parameters in sorted order,
 * its userlist, and the Deployment, Service and Secret that run it. The pod template carries a hash of the
 * configuration and image so only a real change rolls the pooler.
 */
public final class PgBouncerModel {
  public static final String CONFIG_DIR = "/etc/pgbouncer";
  public static final long RUN_AS_USER = 70L;

  /** Parameters users may set; everything that decides where and how PgBouncer authenticates is ours. */
  public static final Set<String> ALLOWED = Set.of(
      "application_name_add_host", "autodb_idle_timeout", "client_idle_timeout", "client_login_timeout",
      "default_pool_size", "disable_pqexec", "dns_max_ttl", "dns_nxdomain_ttl", "dns_zone_check_period",
      "idle_transaction_timeout", "ignore_startup_parameters", "log_connections", "log_disconnections",
      "log_pooler_errors", "log_stats", "max_client_conn", "max_db_connections", "max_packet_size",
      "max_prepared_statements", "max_user_connections", "min_pool_size", "pkt_buf", "query_timeout",
      "query_wait_timeout", "reserve_pool_size", "reserve_pool_timeout", "sbuf_loopcnt", "server_check_delay",
      "server_check_query", "server_connect_timeout", "server_fast_close", "server_idle_timeout", "server_lifetime",
      "server_login_retry", "server_reset_query", "server_reset_query_always", "server_round_robin", "stats_period",
      "suspend_timeout", "tcp_defer_accept", "tcp_keepalive", "tcp_keepcnt", "tcp_keepidle", "tcp_keepintvl",
      "tcp_socket_buffer", "tcp_user_timeout", "verbose");

  /** Defaults the user may override. JDBC sends extra_float_digits, which PgBouncer must ignore. */
  static final Map<String, String> DEFAULTS = Map.of(
      "ignore_startup_parameters", "extra_float_digits,options",
      "max_client_conn", "1000",
      "default_pool_size", "20",
      "server_tls_sslmode", "prefer",
      "log_connections", "0",
      "log_disconnections", "0");

  /**
   * What PgBouncer needs: the runtime role (which clients log in as), and either its password (userlist) or the
   * auth_query role and password.
   */
  public record Credentials(String runtimeRole, String runtimePassword, String authRole, String authPassword) {}

  /** The rendered files: pgbouncer.ini, userlist.txt and any certificate files the ini names. */
  public record Files(String ini, String userlist, Map<String, String> certificates) {
    public Map<String, String> asMap() {
      TreeMap<String, String> files = new TreeMap<>(certificates);
      files.put("pgbouncer.ini", ini);
      files.put("userlist.txt", userlist);
      return files;
    }
  }

  /**
   * The TLS PgBouncer takes part in: the database's CA to verify the server (database.caSecret), and its own
   * certificate for the runtime pods' connections ({@link PoolerTls}; when the database is reached over TLS).
   */
  public record Tls(Optional<String> databaseCa, Optional<PoolerTls.Material> clients) {
    public static final Tls NONE = new Tls(Optional.empty(), Optional.empty());
  }

  /** Whether the runtime pods reach PgBouncer over TLS: when the database is reached over TLS ({@code require} up). */
  public static boolean clientTls(RealtimeClusterSpec spec) {
    return RuntimeConfigModel.poolerEnabled(spec)
        && List.of("require", "verify-ca", "verify-full").contains(spec.getDatabase().getSslMode());
  }

  /** A user parameter outside the allow-list or with a value PgBouncer would misread. */
  public static final class InvalidParameterException extends IllegalArgumentException {
    public InvalidParameterException(String message) {
      super(message);
    }
  }

  private PgBouncerModel() {}

  public static boolean authQuery(RealtimeClusterSpec.Pooler p) {
    return !"Userlist".equals(p.getAuthMode());
  }

  /** The database's CA in the config Secret, when database.caSecret names one. */
  public static final String DATABASE_CA_FILE = "database-ca.crt";
  /** PgBouncer's own certificate and key for the runtime pods' connections. */
  public static final String CLIENT_CERT_FILE = "client-tls.crt";
  public static final String CLIENT_KEY_FILE = "client-tls.key";

  /** Renders pgbouncer.ini and userlist.txt; {@code configDir} is where both files are found at run time. */
  public static Files render(RealtimeCluster cluster, Credentials creds, String configDir) {
    return render(cluster, creds, configDir, Tls.NONE);
  }

  /**
   * With TLS: the database's CA, which PgBouncer verifies the server against ({@code server_tls_ca_file}), and its
   * own certificate, which it presents to the runtime pods ({@code client_tls_*}, TLS required).
   */
  public static Files render(RealtimeCluster cluster, Credentials creds, String configDir, Tls tls) {
    RealtimeClusterSpec s = cluster.getSpec();
    RealtimeClusterSpec.Pooler p = s.getPooler() == null ? new RealtimeClusterSpec.Pooler() : s.getPooler();
    RealtimeClusterSpec.Database db = s.getDatabase();
    TreeMap<String, String> params = new TreeMap<>(DEFAULTS);
    params.put("server_tls_sslmode", db.getSslMode());
    Map<String, String> certificates = new TreeMap<>();
    tls.databaseCa().ifPresent(pem -> {
      params.put("server_tls_ca_file", configDir + "/" + DATABASE_CA_FILE);
      certificates.put(DATABASE_CA_FILE, pem);
    });
    tls.clients().ifPresent(m -> {
      params.put("client_tls_sslmode", "require");
      params.put("client_tls_cert_file", configDir + "/" + CLIENT_CERT_FILE);
      params.put("client_tls_key_file", configDir + "/" + CLIENT_KEY_FILE);
      certificates.put(CLIENT_CERT_FILE, m.cert());
      certificates.put(CLIENT_KEY_FILE, m.key());
    });
    if (p.getParameters() != null) {
      for (var e : new TreeMap<>(p.getParameters()).entrySet()) {
        if (!ALLOWED.contains(e.getKey())) {
          throw new InvalidParameterException("pooler.parameters." + e.getKey()
              + " is not an allowed PgBouncer parameter; allowed: " + new TreeSet<>(ALLOWED));
        }
        if (!e.getValue().matches("[A-Za-z0-9_.,:;=%/ *'-]*")) {
          throw new InvalidParameterException("pooler.parameters." + e.getKey()
              + " has characters PgBouncer cannot take (newlines, quotes, brackets)");
        }
        params.put(e.getKey(), e.getValue());
      }
    }
    params.put("listen_addr", "*");
    params.put("listen_port", String.valueOf(Names.POOLER_PORT));
    params.put("unix_socket_dir", "");
    params.put("pool_mode", p.getPoolMode());
    params.put("auth_type", "scram-sha-256");
    params.put("auth_file", configDir + "/userlist.txt");
    StringBuilder users = new StringBuilder();
    if (authQuery(p)) {
      params.put("auth_user", creds.authRole());
      params.put("auth_query", PoolerAuth.AUTH_QUERY);
      users.append(userLine(creds.authRole(), creds.authPassword()));
    } else {
      users.append(userLine(creds.runtimeRole(), creds.runtimePassword()));
    }
    StringBuilder ini = new StringBuilder();
    ini.append("; generated by the realtime operator for RealtimeCluster ")
        .append(cluster.getMetadata().getName()).append(": do not edit\n");
    ini.append("[databases]\n");
    ini.append(db.getName()).append(" = host=").append(db.getHost()).append(" port=").append(db.getPort())
        .append(" dbname=").append(db.getName()).append('\n');
    ini.append("\n[pgbouncer]\n");
    params.forEach((k, v) -> ini.append(k).append(" = ").append(v).append('\n'));
    return new Files(ini.toString(), users.toString(), certificates);
  }

  private static String userLine(String user, String password) {
    return "\"" + user.replace("\"", "\"\"") + "\" \"" + password.replace("\"", "\"\"") + "\"\n";
  }

  public static Secret configSecret(RealtimeCluster cluster, Files files) {
    String name = cluster.getMetadata().getName();
    return new SecretBuilder()
        .withNewMetadata()
        .withName(Names.poolerConfigSecret(name))
        .withNamespace(cluster.getMetadata().getNamespace())
        .withLabels(Names.clusterLabels(name, "pooler"))
        .endMetadata()
        .withType("Opaque")
        .withData(RuntimeConfigModel.encode(files.asMap()))
        .build();
  }

  public static String image(RealtimeCluster cluster, OperatorDefaults defaults) {
    RealtimeClusterSpec.Pooler p = cluster.getSpec().getPooler();
    return p != null && p.getImage() != null ? p.getImage() : defaults.poolerImage();
  }

  /** The hash on the pod template: the configuration files and the image, nothing else. */
  public static String specHash(Files files, String image) {
    StringBuilder certs = new StringBuilder();
    new TreeMap<>(files.certificates()).forEach((k, v) -> certs.append('\u0000').append(k).append('\u0000').append(v));
    return Hashing.of(image + "\u0000" + files.ini() + "\u0000" + files.userlist() + certs);
  }

  public static Deployment deployment(RealtimeCluster cluster, Files files, OperatorDefaults defaults) {
    String name = cluster.getMetadata().getName();
    RealtimeClusterSpec.Pooler p = cluster.getSpec().getPooler();
    String image = image(cluster, defaults);
    Deployment d = new DeploymentBuilder()
        .withNewMetadata()
        .withName(Names.pooler(name))
        .withNamespace(cluster.getMetadata().getNamespace())
        .withLabels(Names.clusterLabels(name, "pooler"))
        .endMetadata()
        .withNewSpec()
        .withReplicas(p.getInstances())
        .withNewSelector().withMatchLabels(Names.poolerSelector(name)).endSelector()
        .withNewTemplate()
        .withNewSpec()
        .withTerminationGracePeriodSeconds(30L)
        .withEnableServiceLinks(false)
        .withNewSecurityContext()
        .withRunAsNonRoot(true).withRunAsUser(RUN_AS_USER).withRunAsGroup(RUN_AS_USER)
        // the kubelet gives the Secret volume (mode 0440, owner root) this group, so PgBouncer can read its config
        .withFsGroup(RUN_AS_USER)
        .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
        .endSecurityContext()
        .withContainers(new ContainerBuilder()
            .withName("pgbouncer")
            .withImage(image)
            .withImagePullPolicy(defaults.poolerImagePullPolicy())
            .withCommand("pgbouncer", CONFIG_DIR + "/pgbouncer.ini")
            .addNewPort().withName("pgbouncer").withContainerPort(Names.POOLER_PORT).withProtocol("TCP").endPort()
            .withNewReadinessProbe().withNewTcpSocket().withPort(new IntOrString("pgbouncer")).endTcpSocket()
            .withPeriodSeconds(5).endReadinessProbe()
            .withNewLivenessProbe().withNewTcpSocket().withPort(new IntOrString("pgbouncer")).endTcpSocket()
            .withInitialDelaySeconds(10).withPeriodSeconds(10).endLivenessProbe()
            .withResources(p.getResources() != null ? p.getResources() : new ResourceRequirementsBuilder()
                .addToRequests("cpu", new Quantity("100m")).addToRequests("memory", new Quantity("64Mi"))
                .addToLimits("memory", new Quantity("256Mi")).build())
            .withNewSecurityContext()
            .withAllowPrivilegeEscalation(false).withReadOnlyRootFilesystem(true)
            .withNewCapabilities().withDrop("ALL").endCapabilities()
            .endSecurityContext()
            .addNewVolumeMount().withName("config").withMountPath(CONFIG_DIR).withReadOnly(true).endVolumeMount()
            .build())
        .addNewVolume().withName("config").withNewSecret().withSecretName(Names.poolerConfigSecret(name))
        .withDefaultMode(0440).endSecret().endVolume()
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
    d.getSpec().setTemplate(Placements.apply(d.getSpec().getTemplate(), p.getPlacement(),
        Names.clusterLabels(name, "pooler"), Map.of(Names.SPEC_HASH, specHash(files, image)),
        Names.poolerSelector(name)));
    return d;
  }

  public static Service service(RealtimeCluster cluster) {
    String name = cluster.getMetadata().getName();
    return new ServiceBuilder()
        .withMetadata(Names.clusterObject(cluster, Names.pooler(name), "pooler"))
        .withNewSpec()
        .withSelector(Names.poolerSelector(name))
        .withPorts(new ServicePortBuilder().withName("pgbouncer").withProtocol("TCP").withPort(Names.POOLER_PORT)
            .withTargetPort(new IntOrString("pgbouncer")).build())
        .endSpec()
        .build();
  }
}
