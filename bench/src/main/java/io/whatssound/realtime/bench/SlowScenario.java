package io.whatssound.realtime.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Slow consumers: N subscribers of one channel and a WebSocket publisher. After a baseline phase in
 * which everyone reads, S subscribers stop reading (autoRead off, small receive buffer). The report
 * compares the readers' latency in both phases, follows the runtime's heap and RSS, its drop counter
 * and connection count, then lets the slow ones read again to see how they were closed.
 */
final class SlowScenario {
  private SlowScenario() {}

  static Report run(Options o) throws Exception {
    int n = o.integer("subscribers", 1000);
    int slow = o.integer("slow", 10);
    double rate = o.decimal("rate", 100);
    int size = o.integer("payload", 4096);
    double baseline = o.decimal("baseline", 10);
    double duration = o.decimal("duration", 40);
    int rcvBuf = o.integer("slow-rcvbuf", 4096);
    int inFlight = o.integer("connect-concurrency", 200);
    boolean binary = o.flag("binary");
    try (Client client = new Client(o)) {
      Probe probe = new Probe(o, client.base);
      Report r = new Report("slow", o);
      Recorder base = new Recorder();
      Recorder fast = new Recorder();
      Recorder slowRec = new Recorder();
      Recorder[] phase = {base};
      String topic = "realtime:slow-" + System.currentTimeMillis();
      Conn.Listener fastL = new Conn.Listener() {
        @Override
        public void broadcast(Conn c, long seq, long sent, long now) {
          phase[0].delivered(sent, now);
        }
      };
      Conn.Listener slowL = new Conn.Listener() {
        @Override
        public void broadcast(Conn c, long seq, long sent, long now) {
          slowRec.delivered(sent, now);
        }
      };
      System.out.printf("slow: %d readers and %d slow subscribers on %s ...%n", n - slow, slow, topic);
      List<Conn> fastConns =
          client.connectMany(n - slow, inFlight, i -> fastL, c -> c.join(topic, false, false, null), 0);
      List<Conn> slowConns =
          client.connectMany(slow, inFlight, i -> slowL, c -> c.join(topic, false, false, null), rcvBuf);
      Conn pub = client.connect(new Conn.Listener() {}, 0).get(30, TimeUnit.SECONDS);
      String joinRef = pub.join(topic, false, false, null).get(30, TimeUnit.SECONDS);
      String pad = Wire.pad(size);
      long[] seq = {0};
      Pacer.Sender sender = due -> {
        for (int i = 0; i < due; i++) {
          pub.write(pub.wire.broadcast(pub.channel.alloc(), joinRef, Conn.nextRef(), topic, "b", seq[0]++,
              System.nanoTime(), size, pad, binary), false);
        }
        pub.channel.flush();
        return due;
      };
      double drops0 = probe.metric("realtime_slow_consumer_drops_total");
      double conns0 = probe.metric("realtime_connections");
      long heap0 = probe.heapAfterGc();
      long rss0 = probe.rss();
      System.out.printf("slow: baseline %.0f s at %.0f msgs/s of %d bytes, everyone reading ...%n", baseline, rate, size);
      long start = System.nanoTime();
      long pauseAt = start + (long) (baseline * 1e9);
      long end = pauseAt + (long) (duration * 1e9);
      base.window(start + 2_000_000_000L, pauseAt);
      fast.window(pauseAt, end);
      var done = Pacer.run(pub.channel.eventLoop(), rate, baseline + duration, sender);
      long rssBase = 0;
      while (System.nanoTime() < pauseAt) {
        Thread.sleep(500);
        rssBase = Math.max(rssBase, probe.rss());
      }
      phase[0] = fast;
      for (Conn c : slowConns) {
        c.channel.eventLoop().execute(c::pause);
      }
      System.out.printf("slow: %d subscribers stopped reading; %.0f s ...%n", slow, duration);
      long heapMax = 0;
      long rssMax = 0;
      double connsMin = conns0;
      double secondsToAllClosed = -1;
      List<String> timeline = new ArrayList<>();
      while (System.nanoTime() < end) {
        Thread.sleep(2000);
        long h = probe.heapUsed();
        long rss = probe.rss();
        double cs = probe.metric("realtime_connections");
        double drops = probe.metric("realtime_slow_consumer_drops_total") - drops0;
        heapMax = Math.max(heapMax, h);
        rssMax = Math.max(rssMax, rss);
        connsMin = Math.min(connsMin, cs);
        double t = (System.nanoTime() - pauseAt) / 1e9;
        if (secondsToAllClosed < 0 && cs <= conns0 - slow) {
          secondsToAllClosed = t;
        }
        String line = String.format("t=%.0fs heap=%.0fMB rss=%.0fMB server_sockets=%.0f drops=%.0f", t,
            Report.mb(h), Report.mb(rss), cs, drops);
        timeline.add(line);
        System.out.println("  " + line);
      }
      Pacer.Result pr = done.get(30, TimeUnit.SECONDS);
      long expectedFast = pr.sent() * (n - slow);
      long fastGot = base.deliveries() + fast.deliveries();
      fast.drain(expectedFast - base.deliveries(), 15, 3);
      fastGot = base.deliveries() + fast.deliveries();
      double dropsTotal = probe.metric("realtime_slow_consumer_drops_total") - drops0;
      double rejectedSlow = probe.metric("realtime_rejections_total", "reason=\"slow_consumer\"");
      System.out.println("slow: slow subscribers read again ...");
      for (Conn c : slowConns) {
        c.channel.eventLoop().execute(c::resume);
      }
      long closedDeadline = System.nanoTime() + 20_000_000_000L;
      while (System.nanoTime() < closedDeadline && slowConns.stream().anyMatch(Conn::isOpen)) {
        Thread.sleep(200);
      }
      int closed1008 = 0;
      int closedOther = 0;
      int stillOpen = 0;
      String reason = "";
      for (Conn c : slowConns) {
        if (c.isOpen()) {
          stillOpen++;
        } else if (c.closeCode == 1008) {
          closed1008++;
          reason = c.closeReason;
        } else {
          closedOther++;
        }
      }
      long slowGot = slowRec.deliveries();
      r.put("readers", n - slow)
          .put("slow", slow)
          .put("msgs_sent", pr.sent())
          .put("send_rate_per_s", pr.rate())
          .latency("readers_baseline", base.snapshot())
          .latency("readers_with_slow", fast.snapshot())
          .put("readers_lost", expectedFast - fastGot)
          .put("slow_received_of_sent", slow == 0 ? "" : (slowGot / slow) + "/" + pr.sent())
          .put("runtime_slow_consumer_drops", dropsTotal)
          .put("runtime_rejections_slow_consumer", rejectedSlow)
          .put("server_sockets_before", conns0)
          .put("server_sockets_min_while_slow", connsMin)
          .put("seconds_until_server_closed_slow", secondsToAllClosed)
          .put("slow_closed_1008", closed1008)
          .put("slow_close_reason", reason)
          .put("slow_closed_other", closedOther)
          .put("slow_still_open", stillOpen)
          .put("runtime_heap_mb_after_gc_before", Report.mb(heap0))
          .put("runtime_heap_mb_max_while_slow", Report.mb(heapMax))
          .put("runtime_rss_mb_before", Report.mb(rss0))
          .put("runtime_rss_mb_max_baseline", Report.mb(rssBase))
          .put("runtime_rss_mb_max_while_slow", Report.mb(rssMax));
      List<Conn> all = new ArrayList<>(fastConns);
      all.addAll(slowConns);
      all.add(pub);
      Client.closeAll(all, 10_000);
      return r;
    }
  }
}
