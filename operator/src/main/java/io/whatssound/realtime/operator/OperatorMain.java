package io.whatssound.realtime.operator;

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
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator process. Environment: {@code WATCH_NAMESPACES} (comma-separated; empty watches all),
 * {@code OPERATOR_NAMESPACE} (where the leader Lease lives; leader election is off when unset),
 * {@code HEALTH_PORT} (default 8080: {@code /healthz}, {@code /readyz}, {@code /metrics}),
 * {@code RUNTIME_IMAGE}, {@code POOLER_IMAGE}, {@code CLUSTER_DOMAIN}.
 */
public final class OperatorMain {
  private static final Logger LOG = LoggerFactory.getLogger(OperatorMain.class);
  public static final String LEASE_NAME = "realtime-operator-lock";

  private OperatorMain() {}

  public static void main(String[] args) throws IOException {
    Map<String, String> env = System.getenv();
    Set<String> namespaces = Arrays.stream(env.getOrDefault("WATCH_NAMESPACES", "").split(","))
        .map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toSet());
    OperatorDefaults defaults = new OperatorDefaults(
        env.getOrDefault("RUNTIME_IMAGE", OperatorDefaults.RUNTIME_IMAGE),
        env.getOrDefault("POOLER_IMAGE", OperatorDefaults.POOLER_IMAGE),
        env.getOrDefault("CLUSTER_DOMAIN", "cluster.local"));
    int healthPort = Integer.parseInt(env.getOrDefault("HEALTH_PORT", "8080"));
    Optional<LeaderElectionConfiguration> leader = Optional.ofNullable(env.get("OPERATOR_NAMESPACE"))
        .filter(s -> !s.isBlank())
        .map(ns -> new LeaderElectionConfiguration(LEASE_NAME, ns, env.getOrDefault("POD_NAME", null)));

    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);

    KubernetesClient client = new KubernetesClientBuilder().build();
    Operator operator = Operators.create(client, Clock.systemUTC(), DatabaseConnector.jdbc(), defaults,
        Timing.standard(), namespaces, leader);
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
    LOG.info("event=operator_started namespaces={} leader_election={} health_port={} runtime_image={} pooler_image={}",
        namespaces.isEmpty() ? "all" : namespaces, leader.isPresent(), healthPort, defaults.runtimeImage(),
        defaults.poolerImage());
  }

  private static void respond(com.sun.net.httpserver.HttpExchange x, int code, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    x.getResponseHeaders().set("content-type", "text/plain; charset=utf-8");
    x.sendResponseHeaders(code, b.length);
    try (OutputStream o = x.getResponseBody()) {
      o.write(b);
    }
  }
}
