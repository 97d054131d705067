package io.whatssound.realtime.operator;

import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.whatssound.realtime.operator.model.Names;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/** Runtime pods for tests: Pod objects as a Deployment of a pool makes them, and a runtime's metrics endpoint. */
public final class RuntimePods {
  private RuntimePods() {}

  /** A pod of {@code pool} (of {@code cluster}) in {@link Fixtures#NS}, with the labels the operator selects on. */
  public static Pod pod(String pool, String cluster, String name, String ip, boolean ready) {
    return new PodBuilder()
        .withNewMetadata().withName(pool + "-" + name).withNamespace(Fixtures.NS)
        .withLabels(Names.poolLabels(Fixtures.pool(pool, cluster, 1))).endMetadata()
        .withNewSpec().addNewContainer().withName("runtime").withImage("runtime").endContainer().endSpec()
        .withNewStatus().withPhase("Running").withPodIP(ip)
        .addNewCondition().withType("Ready").withStatus(ready ? "True" : "False").endCondition()
        .endStatus()
        .build();
  }

  /**
   * {@code GET /metrics} in Prometheus text format, as the runtime answers it, on 127.0.0.1: the gauge
   * {@code realtime_connections} is {@link #connections}, next to other meters.
   */
  public static final class MetricsServer implements AutoCloseable {
    public final AtomicInteger connections = new AtomicInteger();
    /** {@code POST /admin/shed} requests, as "query | Authorization"; answered 202, or 401 without {@link #KEY}. */
    public final List<String> sheds = new CopyOnWriteArrayList<>();
    public static final String KEY = "runtime-pods-cluster-key-0123";
    private final HttpServer http;

    private MetricsServer(HttpServer http) {
      this.http = http;
    }

    public static MetricsServer start() throws IOException {
      return start(InetAddress.getLoopbackAddress(), 0);
    }

    /** On {@code address} (another loopback address, e.g. 127.0.0.2, for a second pod) and {@code port} (0: any). */
    public static MetricsServer start(InetAddress address, int port) throws IOException {
      HttpServer http = HttpServer.create(new InetSocketAddress(address, port), 0);
      MetricsServer server = new MetricsServer(http);
      http.createContext("/metrics", x -> {
        byte[] body = ("# HELP realtime_channels_joined Channels joined on this pod\n"
            + "# TYPE realtime_channels_joined gauge\n"
            + "realtime_channels_joined 40.0\n"
            + "# HELP realtime_connections Open WebSocket connections\n"
            + "# TYPE realtime_connections gauge\n"
            + "realtime_connections " + server.connections.get() + ".0\n").getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("content-type", "text/plain; version=0.0.4; charset=utf-8");
        x.sendResponseHeaders(200, body.length);
        try (OutputStream o = x.getResponseBody()) {
          o.write(body);
        }
      });
      http.createContext("/admin/shed", x -> {
        String auth = x.getRequestHeaders().getFirst("Authorization");
        server.sheds.add(x.getRequestURI().getQuery() + " | " + auth);
        int status = ("Bearer " + KEY).equals(auth) && "POST".equals(x.getRequestMethod()) ? 202 : 401;
        x.sendResponseHeaders(status, -1);
        x.close();
      });
      http.start();
      return server;
    }

    public int port() {
      return http.getAddress().getPort();
    }

    @Override
    public void close() {
      http.stop(0);
    }
  }
}
