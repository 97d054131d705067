package io.whatssound.realtime.operator.kube;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.AsyncBody;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.whatssound.realtime.operator.Operators;
import io.whatssound.realtime.operator.db.DatabaseConnector;
import io.whatssound.realtime.operator.metrics.ConnectionMeter;
import io.whatssound.realtime.operator.metrics.OperatorMetrics;
import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.operator.reconciler.Timing;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The operator as the chart runs it, in this JVM: the ServiceAccount, roles and bindings of
 * {@code helm template} (the real helm binary) applied with kubectl, and the operator assembled by
 * {@link Operators#create} with a client that authenticates only with that ServiceAccount's token, watching the
 * chart's {@code watchNamespaces} and electing a leader on the chart's Lease. Every response the API server answers
 * with 403 Forbidden is recorded: a verb the chart lacks shows up there even where the operator copes with it.
 */
final class OperatorUnderTest implements AutoCloseable {
  /** Lease timings short enough for tests (production: 15 s, renewed within 10 s). */
  static final Duration LEASE = Duration.ofSeconds(3);

  final String release;
  final String namespace;
  final List<String> watched;
  final List<String> forbidden = new CopyOnWriteArrayList<>();
  final OperatorMetrics metrics = new OperatorMetrics(new SimpleMeterRegistry());
  final KubernetesClient client;
  private Operator operator;

  /**
   * Renders the chart as release {@code release} in {@code namespace} with {@code watched} namespaces (empty: all),
   * applies its ServiceAccount and RBAC, and makes a client with the ServiceAccount's token. Nothing runs yet.
   */
  OperatorUnderTest(ControlPlane cp, String release, String namespace, List<String> watched) {
    this.release = release;
    this.namespace = namespace;
    this.watched = List.copyOf(watched);
    String token = cp.chartServiceAccountToken(release, namespace, watched);
    Config config = ControlPlane.config(cp.tokenKubeconfig(release, token, namespace));
    this.client = new KubernetesClientBuilder().withConfig(config)
        .withHttpClientBuilderConsumer(b -> b.addOrReplaceInterceptor("forbidden", new Interceptor() {
          @Override
          public void after(HttpRequest request, HttpResponse<?> response, AsyncBody.Consumer<List<ByteBuffer>> consumer) {
            if (response.code() == 403) {
              forbidden.add(request.method() + " " + request.uri().getPath()
                  + (request.uri().getQuery() == null ? "" : "?" + request.uri().getQuery()));
            }
          }
        })).build();
  }

  /** Starts the operator as OperatorMain would with the chart's environment, on a short Lease. */
  OperatorUnderTest start(String identity, DatabaseConnector connector, Timing timing) {
    return start(connector, timing, Operators.leaderElection(namespace, identity, LEASE, Duration.ofSeconds(2),
        Duration.ofMillis(250), false));
  }

  /**
   * Starts the operator with the given leader election (tests keep {@code exitOnStopLeading} false: the process is
   * the test's).
   */
  OperatorUnderTest start(DatabaseConnector connector, Timing timing, LeaderElectionConfiguration leader) {
    operator = Operators.create(client, Clock.systemUTC(), connector, OperatorDefaults.standard(), timing,
        Set.copyOf(watched), Optional.of(leader), metrics, ConnectionMeter.standard(metrics));
    operator.start();
    return this;
  }

  /** The identity holding the chart's Lease, or null. */
  static String holder(KubernetesClient admin, String namespace) {
    Lease lease = admin.leases().inNamespace(namespace).withName(Operators.LEASE_NAME).get();
    return lease == null || lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
  }

  long reconciles() {
    return metrics.reconciles("realtimecluster") + metrics.reconciles("sessionpool");
  }

  void stop() {
    if (operator != null) {
      operator.stop();
      operator = null;
    }
  }

  @Override
  public void close() {
    stop();
    client.close();
  }
}
