package io.whatssound.realtime.bench;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * N sockets, each joined to one channel ({@code --per-topic} sockets per channel), held with
 * heartbeats: the runtime's heap after a full GC and its RSS, per socket, against a baseline taken
 * before connecting; then everything closes and the heap is read again (leak check).
 */
final class IdleScenario {
  private IdleScenario() {}

  static Report run(Options o) throws Exception {
    int n = o.integer("connections", 10_000);
    int perTopic = Math.max(1, o.integer("per-topic", 100));
    int hold = o.integer("hold", 30);
    int inFlight = o.integer("connect-concurrency", 200);
    try (Client client = new Client(o)) {
      Probe probe = new Probe(o, client.base);
      if (!probe.hasPid()) {
        System.out.println("idle: no --pid given, so no heap or RSS readings (only connection counts)");
      }
      Report r = new Report("idle", o);
      long heap0 = probe.heapAfterGc();
      long rss0 = probe.rss();
      String prefix = "realtime:idle-" + System.currentTimeMillis() + "-";
      System.out.printf("idle: baseline heap %.1f MB, RSS %.1f MB; opening %d sockets ...%n",
          Report.mb(heap0), Report.mb(rss0), n);
      LatencyHistogram joinLatency = new LatencyHistogram();
      long c0 = System.nanoTime();
      List<Conn> conns =
          client.connectMany(n, inFlight, i -> new Conn.Listener() {}, c -> {
            long j0 = System.nanoTime();
            return c.join(prefix + (c.id / perTopic), false, false, null)
                .thenApply(x -> {
                  synchronized (joinLatency) {
                    joinLatency.record((System.nanoTime() - j0) / 1000);
                  }
                  return x;
                });
          }, 0);
      double openSeconds = (System.nanoTime() - c0) / 1e9;
      System.out.printf("idle: %d sockets joined in %.1f s; holding %d s ...%n", n, openSeconds, hold);
      Probe.Cpu cpu = new Probe.Cpu(probe.pid);
      Thread.sleep(hold * 1000L);
      double[] cpuPct = cpu.percent();
      long open = conns.stream().filter(Conn::isOpen).count();
      long heap1 = probe.heapAfterGc();
      long rss1 = probe.rss();
      double channels = probe.metric("realtime_channels_joined");
      Runtime me = Runtime.getRuntime();
      me.gc();
      long benchHeap = me.totalMemory() - me.freeMemory();
      System.out.println("idle: closing ...");
      Client.closeAll(conns, 30_000);
      Thread.sleep(3000);
      long heap2 = probe.heapAfterGc();
      long rss2 = probe.rss();
      r.put("sockets_open_after_hold", open)
          .put("runtime_channels_joined", channels)
          .put("open_and_join_per_s", n / openSeconds)
          .put("join_reply_p50_ms", joinLatency.percentile(50) / 1000.0)
          .put("join_reply_p99_ms", joinLatency.percentile(99) / 1000.0)
          .put("runtime_heap_mb_baseline", Report.mb(heap0))
          .put("runtime_heap_mb_held", Report.mb(heap1))
          .put("runtime_heap_kb_per_socket", heap1 < 0 ? -1 : (heap1 - heap0) / 1024.0 / n)
          .put("runtime_rss_mb_baseline", Report.mb(rss0))
          .put("runtime_rss_mb_held", Report.mb(rss1))
          .put("runtime_rss_kb_per_socket", rss1 < 0 ? -1 : (rss1 - rss0) / 1024.0 / n)
          .put("runtime_heap_mb_after_close", Report.mb(heap2))
          .put("runtime_rss_mb_after_close", Report.mb(rss2))
          .put("runtime_cpu_pct_while_idle", cpuPct[0])
          .put("bench_heap_kb_per_socket", benchHeap / 1024.0 / n)
          .put("projected_runtime_heap_mb_50k", heap1 < 0 ? -1 : Report.mb(heap0 + (heap1 - heap0) * 50_000L / n));
      return r;
    }
  }
}
