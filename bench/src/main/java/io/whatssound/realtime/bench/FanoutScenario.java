package io.whatssound.realtime.bench;

import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One channel with N subscribers and one publisher (WebSocket or REST) at a fixed rate: sustained
 * deliveries per second, send-to-receive latency and lost messages.
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
    if (!via.equals("ws") && !via.equals("rest")) {
      throw new IllegalArgumentException("--via must be ws or rest");
    }
    String publishUrl = o.str("publish-url", "");
    try (Client client = new Client(o);
        Client pubClient = publishUrl.isEmpty() ? null : new Client(o, publishUrl)) {
      Client publisher = pubClient == null ? client : pubClient;
      if (binary && !client.wire.v2) {
        throw new IllegalArgumentException("--binary needs --vsn 2.0.0");
      }
      Probe probe = new Probe(o, client.base);
      Report r = new Report("fanout", o);
      Recorder rec = new Recorder();
      String name = "fanout-" + System.currentTimeMillis();
      String topic = "realtime:" + name;
      Conn.Listener listener = new Conn.Listener() {
        @Override
        public void broadcast(Conn c, long seq, long sent, long now) {
          rec.delivered(sent, now);
        }
      };
      System.out.printf("fanout: connecting %d subscribers to %s ...%n", n, topic);
      long c0 = System.nanoTime();
      List<Conn> subs = client.connectMany(n, inFlight, i -> listener, c -> c.join(topic, false, false, null), 0);
      r.put("connect_and_join_per_s", n / ((System.nanoTime() - c0) / 1e9));
      long rssBefore = probe.rss();
      double drops0 = probe.metric("realtime_slow_consumer_drops_total");
      String pad = Wire.pad(size);
      Pacer.Sender sender;
      ScheduledExecutorService exec;
      RestPublisher rest = null;
      long[] seq = {0};
      if (via.equals("ws")) {
        Conn pub = publisher.connect(new Conn.Listener() {}, 0).get(30, TimeUnit.SECONDS);
        String joinRef = pub.join(topic, false, false, null).get(30, TimeUnit.SECONDS);
        exec = pub.channel.eventLoop();
        sender = due -> {
          for (int i = 0; i < due; i++) {
            pub.write(pub.wire.broadcast(pub.channel.alloc(), joinRef, Conn.nextRef(), topic, "b", seq[0]++,
                System.nanoTime(), size, pad, binary), false);
          }
          pub.channel.flush();
          return due;
        };
      } else {
        RestPublisher p = new RestPublisher(publisher, restConns);
        rest = p;
        exec = Executors.newSingleThreadScheduledExecutor();
        sender = due -> {
          int sent = 0;
          for (int i = 0; i < due; i++) {
            String body = "{\"messages\":[{\"topic\":\"" + name + "\",\"event\":\"b\",\"payload\":"
                + Wire.jsonPayload(seq[0], System.nanoTime(), pad) + "}]}";
            if (!p.post(body)) {
              break;
            }
            seq[0]++;
            sent++;
          }
          return sent;
        };
      }
      System.out.printf("fanout: publishing %.0f msgs/s over %s for %.0f s (%.0f deliveries/s offered) ...%n",
          rate, via, duration, rate * n);
      Probe.Cpu cpu = new Probe.Cpu(probe.pid);
      long start = System.nanoTime();
      long from = start + (long) (warmup * 1e9);
      long until = start + (long) (duration * 1e9);
      rec.window(from, until);
      var done = Pacer.run(exec, rate, duration, sender);
      sleepUntil(from);
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
      r.put("subscribers", n)
          .put("msgs_sent", pr.sent())
          .put("send_rate_per_s", pr.rate())
          .put("sends_skipped_behind", pr.skipped())
          .put("offered_deliveries_per_s", pr.rate() * n)
          .put("deliveries_per_s_steady", (d1 - d0) / ((t1 - t0) / 1e9))
          .put("deliveries_total", got)
          .put("lost", expected - got)
          .latency("latency", rec.snapshot())
          .put("runtime_cpu_pct", cpuPct[0])
          .put("bench_cpu_pct", cpuPct[1])
          .put("runtime_rss_mb_before", Report.mb(rssBefore))
          .put("runtime_rss_mb_max", Report.mb(Math.max(rssMax, probe.rss())))
          .put("runtime_slow_consumer_drops", probe.metric("realtime_slow_consumer_drops_total") - drops0);
      r.put("rest_statuses", rest == null ? "" : rest.statusSummary());
      if (rest != null) {
        rest.close();
        exec.shutdownNow();
      }
      Client.closeAll(subs, 10_000);
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
