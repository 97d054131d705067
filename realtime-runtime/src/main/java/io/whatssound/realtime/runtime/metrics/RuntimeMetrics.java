package io.whatssound.realtime.runtime.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.whatssound.realtime.postgres.RuntimeEnv;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/** The runtime's meters, exported in Prometheus text format on {@code /metrics}. */
public final class RuntimeMetrics {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final AtomicInteger channels = new AtomicInteger();
  private final Counter bytesIn;
  private final Counter bytesOut;
  private final Counter slowDrops;
  private final Timer fanoutLatency;
  private final DistributionSummary fanoutSize;

  public RuntimeMetrics() {
    Gauge.builder("realtime_channels_joined", channels, AtomicInteger::get)
        .description("Channels joined on this pod")
        .register(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    bytesIn = Counter.builder("realtime_bytes_in").description("WebSocket and REST bytes received").register(registry);
    bytesOut = Counter.builder("realtime_bytes_out").description("WebSocket bytes sent").register(registry);
    slowDrops =
        Counter.builder("realtime_slow_consumer_drops")
            .description("Messages not sent to sockets over their write buffer limit")
            .register(registry);
    fanoutLatency =
        Timer.builder("realtime_fanout_latency")
            .description("From accepting a message to its last write on an event loop")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofNanos(10_000))
            .maximumExpectedValue(Duration.ofSeconds(5))
            .register(registry);
    fanoutSize =
        DistributionSummary.builder("realtime_fanout_recipients")
            .description("Sockets written by one fan-out task")
            .register(registry);
  }

  public MeterRegistry registry() {
    return registry;
  }

  public String scrape() {
    return registry.scrape();
  }

  public void connectionsGauge(IntSupplier connected) {
    Gauge.builder(RuntimeEnv.CONNECTIONS_GAUGE, connected, s -> s.getAsInt())
        .description("Open WebSocket connections")
        .strongReference(true)
        .register(registry);
  }

  public void channelJoined() {
    channels.incrementAndGet();
  }

  public void channelLeft() {
    channels.decrementAndGet();
  }

  public void join(String result) {
    registry.counter("realtime_joins", "result", result).increment();
  }

  public void messageIn(String kind, int bytes) {
    registry.counter("realtime_messages_in", "kind", kind).increment();
    bytesIn.increment(bytes);
  }

  public void messageOut(String kind) {
    registry.counter("realtime_messages_out", "kind", kind).increment();
  }

  public void bytesOut(long bytes) {
    bytesOut.increment(bytes);
  }

  public void delivered(String kind, int sockets, long bytes, long nanosSinceAccepted) {
    registry.counter("realtime_messages_out", "kind", kind).increment(sockets);
    bytesOut.increment(bytes);
    fanoutLatency.record(nanosSinceAccepted, TimeUnit.NANOSECONDS);
    fanoutSize.record(sockets);
  }

  public void rejected(String reason) {
    registry.counter("realtime_rejections", "reason", reason).increment();
  }

  public void frameError(String reason) {
    registry.counter("realtime_frame_errors", "reason", reason).increment();
  }

  /** Messages not written to a socket that stopped reading. */
  public void slowConsumerDrop() {
    slowDrops.increment();
  }
}
