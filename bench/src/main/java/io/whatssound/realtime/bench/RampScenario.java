package io.whatssound.realtime.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * One channel's fan-out with the publish rate stepped up: {@code --start-rate} msgs/s, times {@code --factor} every
 * {@code --step} seconds, after an explicit warm-up at the start rate. Each step's latency counts the messages sent
 * during it. The ramp stops at the first step whose p99 exceeds the largest bound, that loses messages, or whose
 * publisher fell behind (then the publisher, not the server, was the limit, and the report says so). It reports
 * every step and the highest delivery rate whose p99 stayed within each bound (25, 50 and 100 ms by default).
 */
final class RampScenario {
  private RampScenario() {}

  /** One step's messages: sent from {@code from} on, until the next step, recorded whenever they arrive. */
  private record Step(double rate, long from, Recorder rec) {}

  static Report run(Options o) throws Exception {
    int n = o.integer("subscribers", 1000);
    double startRate = o.decimal("start-rate", 10);
    double factor = o.decimal("factor", 1.5);
    double stepSeconds = o.decimal("step", 5);
    double warmup = o.decimal("warmup", 3);
    int maxSteps = o.integer("max-steps", 25);
    String via = o.str("via", "rest");
    int size = o.integer("payload", 100);
    int inFlight = o.integer("connect-concurrency", 200);
    int restConns = o.integer("rest-connections", 8);
    List<Double> bounds = new ArrayList<>();
    for (String b : o.str("p99-bounds", "25,50,100").split(",")) {
      bounds.add(Double.parseDouble(b.trim()));
    }
    double maxBound = bounds.stream().mapToDouble(Double::doubleValue).max().orElse(100);
    if (factor <= 1) {
      throw new IllegalArgumentException("--factor must be above 1");
    }
    try (Client client = new Client(o)) {
      Probe probe = new Probe(o, client.base);
      Report r = new Report("ramp", o);
      List<Step> steps = new CopyOnWriteArrayList<>();
      Conn.Listener listener = new Conn.Listener() {
        @Override
        public void broadcast(Conn c, long seq, long sent, long now) {
          // a message belongs to the last step that started before it was sent (the pacer's last tick of a step
          // sends at or just after the step's end; the next step starts only after this one drained)
          for (int i = steps.size() - 1; i >= 0; i--) {
            Step s = steps.get(i);
            if (sent >= s.from) {
              s.rec.delivered(sent, now);
              return;
            }
          }
        }
      };
      try (FanoutLoad load = FanoutLoad.open(client, client, "ramp", n, inFlight, listener, via, false, size,
          restConns)) {
        System.out.printf("ramp: warm-up %.0f s at %.0f msgs/s%n", warmup, startRate);
        Pacer.run(load.exec, startRate, warmup, load.sender).get((long) warmup + 60, TimeUnit.SECONDS);
        double[] best = new double[bounds.size()];
        String stop = "max-steps";
        double rate = startRate;
        for (int i = 0; i < maxSteps; i++, rate *= factor) {
          long from = System.nanoTime();
          Step step = new Step(rate, from, new Recorder());
          step.rec.window(step.from, Long.MAX_VALUE);
          steps.add(step);
          Probe.Cpu cpu = new Probe.Cpu(probe.pid);
          Pacer.Result pr = Pacer.run(load.exec, rate, stepSeconds, load.sender)
              .get((long) stepSeconds + 60, TimeUnit.SECONDS);
          double[] cpuPct = cpu.percent();
          long expected = pr.sent() * n;
          // the step's stragglers: a p99 within the bound means they arrive within it
          step.rec.drain(expected, Math.max(1, 10 * maxBound / 1000), Math.max(0.2, 2 * maxBound / 1000));
          LatencyHistogram h = step.rec.snapshot();
          double p50 = h.percentile(50) / 1000.0;
          double p99 = h.percentile(99) / 1000.0;
          long lost = expected - step.rec.deliveries();
          double deliveries = pr.rate() * n;
          String prefix = String.format("step%02d_", i + 1);
          r.put(prefix + "msgs_per_s", pr.rate())
              .put(prefix + "deliveries_per_s", deliveries)
              .put(prefix + "p50_ms", p50)
              .put(prefix + "p99_ms", p99)
              .put(prefix + "lost", lost)
              .put(prefix + "server_cpu_us_per_delivery",
                  cpuPct[0] < 0 || deliveries <= 0 ? -1 : cpuPct[0] / 100 * 1e6 / deliveries);
          System.out.printf("ramp: step %d: %.0f msgs/s (%.0f deliveries/s) p50 %.1f ms p99 %.1f ms lost %d%s%n",
              i + 1, pr.rate(), deliveries, p50, p99, lost, pr.skipped() > 0 ? ", publisher behind" : "");
          if (pr.skipped() > pr.sent() / 100) {
            stop = "publisher behind at " + Math.round(rate) + " msgs/s";
            break;
          }
          if (lost > 0) {
            stop = "lost messages";
            break;
          }
          for (int b = 0; b < bounds.size(); b++) {
            if (p99 <= bounds.get(b)) {
              best[b] = Math.max(best[b], deliveries);
            }
          }
          if (p99 > maxBound) {
            stop = "p99 above " + Math.round(maxBound) + " ms";
            break;
          }
        }
        r.put("subscribers", n).put("stopped_by", stop);
        for (int b = 0; b < bounds.size(); b++) {
          r.put("max_deliveries_per_s_p99_le_" + Math.round(bounds.get(b)) + "ms", best[b]);
        }
        r.put("rest_statuses", load.restStatuses());
      }
      return r;
    }
  }
}
