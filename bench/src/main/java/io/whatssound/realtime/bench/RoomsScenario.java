package io.whatssound.realtime.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Supabase's published broadcast benchmark scaled down: every user is in an echo channel of its own
 * and in a channel of {@code --group} users (both with {@code self: true}); every channel carries
 * {@code --rate} messages per second, the group's sent by its members in turn.
 */
final class RoomsScenario {
  private RoomsScenario() {}

  /** One channel and who sends into it next. */
  private record Channel(String topic, List<Conn> members, List<String> joinRefs, int[] next) {}

  static Report run(Options o) throws Exception {
    int users = o.integer("users", 2000);
    int group = Math.max(1, o.integer("group", 6));
    double rate = o.decimal("rate", 2);
    double duration = o.decimal("duration", 30);
    double warmup = o.decimal("warmup", 5);
    int size = o.integer("payload", 100);
    boolean binary = o.flag("binary");
    int inFlight = o.integer("connect-concurrency", 200);
    try (Client client = new Client(o)) {
      Probe probe = new Probe(o, client.base);
      Report r = new Report("rooms", o);
      Recorder rec = new Recorder();
      String prefix = "realtime:rooms-" + System.currentTimeMillis() + "-";
      Conn.Listener listener = new Conn.Listener() {
        @Override
        public void broadcast(Conn c, long seq, long sent, long now) {
          rec.delivered(sent, now);
        }
      };
      List<Channel> channels = new ArrayList<>();
      List<Channel> rooms = new ArrayList<>();
      for (int g = 0; g * group < users; g++) {
        rooms.add(new Channel(prefix + "room-" + g, new ArrayList<>(), new ArrayList<>(), new int[1]));
      }
      Channel[] echoes = new Channel[users];
      System.out.printf("rooms: connecting %d users (%d echo + %d group channels) ...%n", users, users, rooms.size());
      List<Conn> conns =
          client.connectMany(users, inFlight, i -> listener, c -> {
            int u = c.id - 1;
            Channel room = rooms.get(u / group);
            String echoTopic = prefix + "echo-" + u;
            CompletableFuture<String> e = c.join(echoTopic, true, false, null);
            CompletableFuture<String> g = c.join(room.topic(), true, false, null);
            return e.thenCombine(g, (er, gr) -> {
              synchronized (room) {
                room.members().add(c);
                room.joinRefs().add(gr);
              }
              echoes[u] = new Channel(echoTopic, List.of(c), List.of(er), new int[1]);
              return c;
            });
          }, 0);
      // interleave so each tick's sends spread over channels
      for (int i = 0; i < users; i++) {
        channels.add(echoes[i]);
        if (i % group == 0) {
          channels.add(rooms.get(i / group));
        }
      }
      double total = rate * channels.size();
      String pad = Wire.pad(size);
      long[] expected = {0};
      int[] cursor = {0};
      long[] seq = {0};
      Pacer.Sender sender = due -> {
        for (int i = 0; i < due; i++) {
          Channel ch = channels.get(cursor[0]);
          cursor[0] = (cursor[0] + 1) % channels.size();
          int k = ch.next()[0]++ % ch.members().size();
          Conn c = ch.members().get(k);
          c.write(c.wire.broadcast(c.channel.alloc(), ch.joinRefs().get(k), Conn.nextRef(), ch.topic(), "b",
              seq[0]++, System.nanoTime(), size, pad, binary), true);
          expected[0] += ch.members().size();
        }
        return due;
      };
      ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
      System.out.printf("rooms: %d channels x %.1f msgs/s = %.0f sends/s for %.0f s ...%n",
          channels.size(), rate, total, duration);
      double drops0 = probe.metric("realtime_slow_consumer_drops_total");
      long rss0 = probe.rss();
      Probe.Cpu cpu = new Probe.Cpu(probe.pid);
      long start = System.nanoTime();
      long from = start + (long) (warmup * 1e9);
      long until = start + (long) (duration * 1e9);
      rec.window(from, until);
      var done = Pacer.run(exec, total, duration, sender);
      FanoutScenario.sleepUntil(from);
      long d0 = rec.deliveries();
      long t0 = System.nanoTime();
      FanoutScenario.sleepUntil(until);
      long d1 = rec.deliveries();
      long t1 = System.nanoTime();
      double[] cpuPct = cpu.percent();
      Pacer.Result pr = done.get(60, TimeUnit.SECONDS);
      exec.shutdownNow();
      long exp = exec.awaitTermination(5, TimeUnit.SECONDS) ? expected[0] : expected[0];
      rec.drain(exp, 30, 3);
      long got = rec.deliveries();
      r.put("users", users)
          .put("channels", channels.size())
          .put("sends_per_s", pr.rate())
          .put("sends_skipped_behind", pr.skipped())
          .put("deliveries_per_s_steady", (d1 - d0) / ((t1 - t0) / 1e9))
          .put("deliveries_expected", exp)
          .put("lost", exp - got)
          .latency("latency", rec.snapshot())
          .put("runtime_cpu_pct", cpuPct[0])
          .put("bench_cpu_pct", cpuPct[1])
          .put("runtime_rss_mb_before", Report.mb(rss0))
          .put("runtime_rss_mb_after", Report.mb(probe.rss()))
          .put("runtime_slow_consumer_drops", probe.metric("realtime_slow_consumer_drops_total") - drops0);
      Client.closeAll(conns, 10_000);
      return r;
    }
  }
}
