package io.whatssound.realtime.operator.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.whatssound.realtime.operator.RuntimePods;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ConnectionMeterTest {
  RuntimePods.MetricsServer server;
  OperatorMetrics metrics = new OperatorMetrics(new SimpleMeterRegistry());

  @BeforeEach
  void start() throws Exception {
    server = RuntimePods.MetricsServer.start();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void theGaugeIsReadFromPrometheusText() {
    String text = """
        # HELP realtime_connections Open WebSocket connections
        # TYPE realtime_connections gauge
        realtime_connections 12.0
        realtime_connections_total 99.0
        realtime_channels_joined 40.0
        """;
    assertEquals(OptionalDouble.of(12.0), ConnectionMeter.gauge(text, "realtime_connections"));
    assertEquals(OptionalDouble.of(7.0), ConnectionMeter.gauge(
        "realtime_connections{pod=\"a\"} 3 1700000000000\nrealtime_connections{pod=\"b\"} 4\n", "realtime_connections"));
    assertEquals(OptionalDouble.empty(), ConnectionMeter.gauge("realtime_connections_total 3\n", "realtime_connections"));
    assertEquals(OptionalDouble.empty(), ConnectionMeter.gauge("realtime_connections NaN\n", "realtime_connections"));
  }

  @Test
  void readyPodsAreSummedAndOnesThatDoNotAnswerAreCountedAndLeftOut() {
    server.connections.set(5);
    ConnectionMeter meter = new ConnectionMeter(server.port(), Duration.ofSeconds(2), metrics);
    Pod a = RuntimePods.pod("pool", "cluster", "a", "127.0.0.1", true);
    Pod b = RuntimePods.pod("pool", "cluster", "b", "127.0.0.1", true);
    Pod notReady = RuntimePods.pod("pool", "cluster", "c", "127.0.0.1", false);
    Pod refused = RuntimePods.pod("pool", "cluster", "d", "127.0.0.3", true);
    assertFalse(ConnectionMeter.ready(notReady));

    ConnectionMeter.Reading r = meter.read(List.of(a, b, notReady, refused));
    assertEquals(new ConnectionMeter.Reading(3, 2, 10, Map.of("pool-a", 5L, "pool-b", 5L)), r,
        "each answering pod's count by name (its deletion cost when the pool shrinks)");
    assertEquals(Optional.of(10), r.total());
    assertEquals(2, metrics.connectionReads(true));
    assertEquals(1, metrics.connectionReads(false));

    assertEquals(Optional.empty(), meter.read(List.of(refused)).total(), "unknown, not zero");
    assertEquals(Optional.of(0), meter.read(List.of(notReady)).total(), "no ready pod: no connections");
    assertTrue(metrics.connectionReads(false) >= 2);
  }

  @Test
  void aPodIsAskedToShedWithTheClusterKeyAndARefusalIsReported() throws Exception {
    try (RuntimePods.MetricsServer server = RuntimePods.MetricsServer.start()) {
      ConnectionMeter meter = new ConnectionMeter(server.port(), Duration.ofSeconds(2), metrics);
      Pod full = RuntimePods.pod("pool", "cluster", "full", "127.0.0.1", true);
      assertTrue(meter.shed(full, 120, Duration.ofSeconds(30), RuntimePods.MetricsServer.KEY));
      assertEquals("count=120&seconds=30 | Bearer " + RuntimePods.MetricsServer.KEY, server.sheds.get(0));
      assertFalse(meter.shed(full, 5, Duration.ofSeconds(30), "another-key"), "refused: reported, not thrown");
      Pod gone = RuntimePods.pod("pool", "cluster", "gone", "127.0.0.3", true);
      assertFalse(meter.shed(gone, 5, Duration.ofSeconds(30), RuntimePods.MetricsServer.KEY));
    }
  }
}
