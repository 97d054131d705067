package io.whatssound.realtime.operator.metrics;

import io.fabric8.kubernetes.api.model.Pod;
import io.whatssound.realtime.operator.model.Names;
import io.whatssound.realtime.postgres.RuntimeEnv;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads how many sockets runtime pods hold: the gauge {@value #GAUGE} that the runtime exports on
 * {@code GET http://<pod IP>:9100/metrics} ({@code RuntimeMetrics.connectionsGauge} in realtime-runtime). Ready pods
 * are read in parallel with a short timeout; a pod that does not answer is logged, counted in
 * {@link OperatorMetrics#connectionRead} and left out, never an error.
 */
public final class ConnectionMeter {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectionMeter.class);
  /** The runtime's gauge of open WebSocket connections. */
  public static final String GAUGE = RuntimeEnv.CONNECTIONS_GAUGE;
  public static final Duration TIMEOUT = Duration.ofSeconds(2);

  private final HttpClient http;
  private final int port;
  private final Duration timeout;
  private final OperatorMetrics metrics;

  /**
   * @param port    the runtime's metrics port ({@link Names#METRICS_PORT}; tests point it elsewhere)
   * @param timeout for connecting and for the whole answer of one pod
   */
  public ConnectionMeter(int port, Duration timeout, OperatorMetrics metrics) {
    this.port = port;
    this.timeout = timeout;
    this.metrics = metrics;
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout).build();
  }

  public static ConnectionMeter standard(OperatorMetrics metrics) {
    return new ConnectionMeter(Names.METRICS_PORT, TIMEOUT, metrics);
  }

  /**
   * What a pool's ready pods reported.
   *
   * @param ready       ready pods (with an IP)
   * @param answered    of those, how many reported the gauge
   * @param connections the sum over the pods that answered
   * @param byPod       each answering pod's count, by pod name
   */
  public record Reading(int ready, int answered, long connections, Map<String, Long> byPod) {
    public Reading(int ready, int answered, long connections) {
      this(ready, answered, connections, Map.of());
    }

    /** The sum; empty when pods were ready but none answered (the count is unknown, not zero). */
    public Optional<Integer> total() {
      if (ready > 0 && answered == 0) {
        return Optional.empty();
      }
      return Optional.of((int) Math.min(Integer.MAX_VALUE, connections));
    }
  }

  /** Reads every ready pod among {@code pods}; blocks at most about {@code timeout}. */
  public Reading read(Collection<Pod> pods) {
    List<Pod> ready = pods.stream().filter(ConnectionMeter::ready).toList();
    List<CompletableFuture<OptionalDouble>> reads = ready.stream().map(this::read).toList();
    int answered = 0;
    double sum = 0;
    Map<String, Long> byPod = new TreeMap<>();
    for (int i = 0; i < reads.size(); i++) {
      OptionalDouble v = reads.get(i).join();
      if (v.isPresent()) {
        answered++;
        sum += v.getAsDouble();
        byPod.put(ready.get(i).getMetadata().getName(), Math.round(v.getAsDouble()));
      }
    }
    return new Reading(ready.size(), answered, Math.round(sum), byPod);
  }

  private CompletableFuture<OptionalDouble> read(Pod pod) {
    String ip = pod.getStatus().getPodIP();
    URI uri = URI.create("http://" + (ip.contains(":") ? "[" + ip + "]" : ip) + ":" + port + "/metrics");
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
        .orTimeout(timeout.toMillis() * 2, TimeUnit.MILLISECONDS)
        .handle((response, error) -> {
          OptionalDouble value = OptionalDouble.empty();
          String why;
          if (error != null) {
            why = error.getCause() != null ? error.getCause().toString() : error.toString();
          } else if (response.statusCode() != 200) {
            why = "HTTP " + response.statusCode();
          } else {
            value = gauge(response.body(), GAUGE);
            why = value.isPresent() ? null : "no " + GAUGE + " in the answer";
          }
          metrics.connectionRead(value.isPresent());
          if (why != null) {
            LOG.debug("event=connection_read_failed namespace={} pod={} url={} error=\"{}\"",
                pod.getMetadata().getNamespace(), pod.getMetadata().getName(), uri, why);
          }
          return value;
        });
  }

  /**
   * Asks a runtime pod to let {@code count} of its sockets go over {@code window} ({@code POST /admin/shed} on its
   * metrics port, with the tenant's cluster key); returns whether it accepted.
   */
  public boolean shed(Pod pod, long count, Duration window, String clusterKey) {
    String ip = pod.getStatus().getPodIP();
    URI uri = URI.create("http://" + (ip.contains(":") ? "[" + ip + "]" : ip) + ":" + port + "/admin/shed?count=" + count
        + "&seconds=" + Math.max(1, window.toSeconds()));
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).header("Authorization", "Bearer " + clusterKey)
        .POST(HttpRequest.BodyPublishers.noBody()).build();
    try {
      int status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
      if (status != 202) {
        LOG.warn("event=shed_refused namespace={} pod={} status={}", pod.getMetadata().getNamespace(),
            pod.getMetadata().getName(), status);
      }
      return status == 202;
    } catch (IOException e) {
      LOG.warn("event=shed_failed namespace={} pod={} error=\"{}\"", pod.getMetadata().getNamespace(),
          pod.getMetadata().getName(), e.toString());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** A pod the client Service sends traffic to: Ready, with an IP, not terminating. */
  public static boolean ready(Pod pod) {
    return pod.getStatus() != null && pod.getStatus().getPodIP() != null && !pod.getStatus().getPodIP().isBlank()
        && pod.getMetadata().getDeletionTimestamp() == null
        && pod.getStatus().getConditions() != null
        && pod.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  /**
   * The sum of a metric's samples in Prometheus text exposition format ({@code name 3.0} or
   * {@code name{label="x"} 3.0}, an optional timestamp after the value); empty when it has none.
   */
  public static OptionalDouble gauge(String text, String name) {
    double sum = 0;
    boolean found = false;
    for (String line : text.split("\n")) {
      if (!line.startsWith(name) || line.length() == name.length()) {
        continue;
      }
      char next = line.charAt(name.length());
      String rest;
      if (next == '{') {
        int close = line.lastIndexOf('}');
        if (close < 0) {
          continue;
        }
        rest = line.substring(close + 1);
      } else if (next == ' ' || next == '\t') {
        rest = line.substring(name.length());
      } else {
        continue; // another metric sharing the prefix, e.g. realtime_connections_total
      }
      String[] parts = rest.trim().split("\\s+");
      try {
        double v = Double.parseDouble(parts[0]);
        if (!Double.isNaN(v) && !Double.isInfinite(v)) {
          sum += v;
          found = true;
        }
      } catch (NumberFormatException e) {
        // not a sample line
      }
    }
    return found ? OptionalDouble.of(sum) : OptionalDouble.empty();
  }
}
