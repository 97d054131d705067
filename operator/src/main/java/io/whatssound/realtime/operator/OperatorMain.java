package io.whatssound.realtime.operator;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.db.ReusedConnections;
import io.whatssound.realtime.operator.metrics.ConnectionMeter;
import io.whatssound.realtime.operator.metrics.OperatorMetrics;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.operator.reconciler.Timing;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator process. Environment: {@code WATCH_NAMESPACES} (comma-separated; empty watches all),
 * {@code OPERATOR_NAMESPACE} (where the leader Lease lives; leader election is off when unset),
 * {@code HEALTH_PORT} (default 8080: {@code /healthz}, {@code /readyz}, {@code /metrics}),
 * {@code RUNTIME_IMAGE}, {@code RUNTIME_IMAGE_PULL_POLICY}, {@code POOLER_IMAGE}, {@code POOLER_IMAGE_PULL_POLICY}
 * (pull policies {@code Always}, {@code IfNotPresent} (default) or {@code Never}), {@code CLUSTER_DOMAIN},
 * {@code CONNECTION_POLL_SECONDS} (default 30: how often pools read their pods' connection counts). A bad value
 * stops the start with a message naming the variable.
 */
public final class OperatorMain {
  private static final Logger LOG = LoggerFactory.getLogger(OperatorMain.class);
  public static final String LEASE_NAME = Operators.LEASE_NAME;

  private OperatorMain() {}

  public static void main(String[] args) throws IOException {
    Map<String, String> env = System.getenv();
    Set<String> namespaces = Arrays.stream(env.getOrDefault("WATCH_NAMESPACES", "").split(","))
        .map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toSet());
    OperatorDefaults defaults = defaults(env);
    int healthPort = Integer.parseInt(env.getOrDefault("HEALTH_PORT", "8080"));
    Timing timing = timing(env);
    Optional<LeaderElectionConfiguration> leader = Optional.ofNullable(env.get("OPERATOR_NAMESPACE"))
        .filter(s -> !s.isBlank())
        .map(ns -> Operators.leaderElection(ns, env.getOrDefault("POD_NAME", null)));

    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    OperatorMetrics metrics = new OperatorMetrics(registry);

    KubernetesClient client = new KubernetesClientBuilder().build();
    // one owner connection per tenant database kept between reconciles, closed after 5 idle minutes
    ReusedConnections connections = new ReusedConnections(DatabaseConnector.jdbc(), Clock.systemUTC(), Duration.ofMinutes(5));
    ScheduledExecutorService housekeeping = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "db-connections");
      t.setDaemon(true);
      return t;
    });
    housekeeping.scheduleWithFixedDelay(connections::evictIdle, 1, 1, TimeUnit.MINUTES);
    Runtime.getRuntime().addShutdownHook(new Thread(connections::close, "db-connections-close"));
    Operator operator = Operators.create(client, Clock.systemUTC(), connections, defaults,
        timing, namespaces, leader, metrics, ConnectionMeter.standard(metrics));
    HttpServer http = HttpServer.create(new InetSocketAddress(healthPort), 0);
    http.createContext("/healthz", x -> respond(x, 200, "ok"));
    http.createContext("/readyz", x -> {
      boolean ok = operator.getRuntimeInfo().allEventSourcesAreHealthy();
      respond(x, ok ? 200 : 503, ok ? "ok" : "event sources unhealthy");
    });
    http.createContext("/metrics", x -> respond(x, 200, registry.scrape()));
    http.start();
    operator.installShutdownHook(Duration.ofSeconds(20));
    operator.start();
    LOG.info("event=operator_started namespaces={} leader_election={} health_port={} runtime_image={} "
        + "runtime_pull_policy={} pooler_image={} pooler_pull_policy={} connection_poll={}",
        namespaces.isEmpty() ? "all" : namespaces, leader.isPresent(), healthPort, defaults.runtimeImage(),
        defaults.runtimeImagePullPolicy(), defaults.poolerImage(), defaults.poolerImagePullPolicy(),
        timing.connectionPoll());
  }

  /** Images, pull policies and the DNS domain from the environment. */
  static OperatorDefaults defaults(Map<String, String> env) {
    return new OperatorDefaults(
        env.getOrDefault("RUNTIME_IMAGE", OperatorDefaults.RUNTIME_IMAGE),
        pullPolicy(env, "RUNTIME_IMAGE_PULL_POLICY"),
        env.getOrDefault("POOLER_IMAGE", OperatorDefaults.POOLER_IMAGE),
        pullPolicy(env, "POOLER_IMAGE_PULL_POLICY"),
        env.getOrDefault("CLUSTER_DOMAIN", "cluster.local"));
  }

  private static String pullPolicy(Map<String, String> env, String variable) {
    String value = env.getOrDefault(variable, OperatorDefaults.PULL_POLICY);
    if (!OperatorDefaults.PULL_POLICIES.contains(value)) {
      throw new IllegalArgumentException(variable + " must be Always, IfNotPresent or Never; got '" + value + "'");
    }
    return value;
  }

  static Timing timing(Map<String, String> env) {
    String poll = env.getOrDefault("CONNECTION_POLL_SECONDS", String.valueOf(Timing.CONNECTION_POLL.toSeconds()));
    long seconds;
    try {
      seconds = Long.parseLong(poll.trim());
    } catch (NumberFormatException e) {
      seconds = -1;
    }
    if (seconds < 1) {
      throw new IllegalArgumentException("CONNECTION_POLL_SECONDS must be a whole number of seconds, at least 1; got '"
          + poll + "'");
    }
    return Timing.standard().withConnectionPoll(Duration.ofSeconds(seconds));
  }

  private static void respond(HttpExchange x, int code, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    x.getResponseHeaders().set("content-type", "text/plain; charset=utf-8");
    x.sendResponseHeaders(code, b.length);
    try (OutputStream o = x.getResponseBody()) {
      o.write(b);
    }
  }
}
