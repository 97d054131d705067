package io.whatssound.realtime.bench;

import java.util.concurrent.TimeUnit;

/**
 * One channel with N subscribers and one publisher (WebSocket or REST) at a fixed rate: sustained
 * deliveries per second, send-to-receive latency, lost messages, and the server's CPU per delivery (with --pid).
 */
final class FanoutScenario {
  private FanoutScenario() {}

  static Report run(Options o) throws Exception {
    int n = o.integer("subscribers", 10_000);
    double rate = o.decimal("rate", 20);
    double duration = o.decimal("duration", 20);
    double warmup = o.decimal("warmup", 3);
    String via = o.str("via", "ws");
    boolean binary = o.flag("binary");
    int size = o.integer("payload", 100);
    int inFlight = o.integer("connect-concurrency", 200);
    int restConns = o.integer("rest-connections", 8);
    String publishUrl = o.str("publish-url", "");
    try (Client client = new Client(o);
        Client pubClient = publishUrl.isEmpty() ? null : new Client(o, publishUrl)) {
      Client publisher = pubClient == null ? client : pubClient;
      Probe probe = new Probe(o, client.base);
      Report r = new Report("fanout", o);
      Recorder rec = new Recorder();
      Conn.Listener listener = new Conn.Listener() {
        @Override
        public void broadcast(Conn c, long seq, long sent, long now) {
          rec.delivered(sent, now);
        }
      };
      long c0 = System.nanoTime();
      try (FanoutLoad load = FanoutLoad.open(client, publisher, "fanout", n, inFlight, listener, via, binary, size,
          restConns)) {
        r.put("connect_and_join_per_s", n / ((System.nanoTime() - c0) / 1e9));
        long rssBefore = probe.rss();
        double drops0 = probe.metric("realtime_slow_consumer_drops_total");
        System.out.printf("fanout: publishing %.0f msgs/s over %s for %.0f s (%.0f deliveries/s offered) ...%n",
            rate, via, duration, rate * n);
        long start = System.nanoTime();
        long from = start + (long) (warmup * 1e9);
        long until = start + (long) (duration * 1e9);
        rec.window(from, until);
        var done = Pacer.run(load.exec, rate, duration, load.sender);
        sleepUntil(from);
        Probe.Cpu cpu = new Probe.Cpu(probe.pid);
        long d0 = rec.deliveries();
        long t0 = System.nanoTime();
        long rssMax = 0;
        while (System.nanoTime() < until - 1_000_000_000L) {
          Thread.sleep(1000);
          rssMax = Math.max(rssMax, probe.rss());
        }
        sleepUntil(until);
        long d1 = rec.deliveries();
        long t1 = System.nanoTime();
        double[] cpuPct = cpu.percent();
        Pacer.Result pr = done.get(60, TimeUnit.SECONDS);
        long expected = pr.sent() * n;
        rec.drain(expected, 30, 3);
        long got = rec.deliveries();
        double steady = (d1 - d0) / ((t1 - t0) / 1e9);
        r.put("subscribers", n)
            .put("msgs_sent", pr.sent())
            .put("send_rate_per_s", pr.rate())
            .put("sends_skipped_behind", pr.skipped())
            .put("offered_deliveries_per_s", pr.rate() * n)
            .put("deliveries_per_s_steady", steady)
            .put("deliveries_total", got)
            .put("lost", expected - got)
            .latency("latency", rec.snapshot())
            .put("runtime_cpu_pct", cpuPct[0])
            .put("server_cpu_us_per_delivery", cpuPct[0] < 0 || steady <= 0 ? -1 : cpuPct[0] / 100 * 1e6 / steady)
            .put("bench_cpu_pct", cpuPct[1])
            .put("runtime_rss_mb_before", Report.mb(rssBefore))
            .put("runtime_rss_mb_max", Report.mb(Math.max(rssMax, probe.rss())))
            .put("runtime_slow_consumer_drops", probe.metric("realtime_slow_consumer_drops_total") - drops0)
            .put("rest_statuses", load.restStatuses());
      }
      return r;
    }
  }

  static void sleepUntil(long nanos) throws InterruptedException {
    long ms = (nanos - System.nanoTime()) / 1_000_000;
    if (ms > 0) {
      Thread.sleep(ms);
    }
  }

}
