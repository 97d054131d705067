package io.whatssound.realtime.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Presence churn: M members join one channel with presence and track; then, at {@code --rate}
 * operations per second, a random member re-tracks a changed payload, leaves, or (when it has left)
 * joins and tracks again. Every member receives the diffs; the latency of a diff is measured from the
 * operation's send time (carried in the tracked meta for joins, kept by the bench for leaves).
 */
final class PresenceScenario {
  private PresenceScenario() {}

  private static final int TRACKED = 0;
  private static final int BUSY = 1;
  private static final int LEFT = 2;

  static Report run(Options o) throws Exception {
    int m = o.integer("members", 500);
    double rate = o.decimal("rate", 50);
    double duration = o.decimal("duration", 30);
    double warmup = o.decimal("warmup", 3);
    int inFlight = o.integer("connect-concurrency", 100);
    try (Client client = new Client(o)) {
      Probe probe = new Probe(o, client.base);
      Report r = new Report("presence", o);
      String topic = "realtime:presence-" + System.currentTimeMillis();
      Recorder joinLat = new Recorder();
      Recorder leaveLat = new Recorder();
      Map<String, Long> leaveSent = new ConcurrentHashMap<>();
      LongAdder diffs = new LongAdder();
      LongAdder states = new LongAdder();
      LongAdder errors = new LongAdder();
      Conn.Listener listener = new Conn.Listener() {
        @Override
        public void push(Conn c, Wire.Msg msg, long now) {
          if ("presence_diff".equals(msg.event())) {
            diffs.increment();
            JsonNode joins = msg.payload().path("joins");
            for (Iterator<Map.Entry<String, JsonNode>> it = joins.fields(); it.hasNext(); ) {
              for (JsonNode meta : it.next().getValue().path("metas")) {
                if (meta.has("pt")) {
                  joinLat.delivered(meta.get("pt").asLong(), now);
                }
              }
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = msg.payload().path("leaves").fields(); it.hasNext(); ) {
              String key = it.next().getKey();
              if (!joins.has(key)) {
                Long sent = leaveSent.get(key);
                if (sent != null) {
                  leaveLat.delivered(sent, now);
                }
              }
            }
          } else if ("presence_state".equals(msg.event())) {
            states.increment();
          }
        }
      };
      String[] joinRefs = new String[m];
      AtomicInteger[] state = new AtomicInteger[m];
      System.out.printf("presence: %d members joining and tracking in %s ...%n", m, topic);
      long c0 = System.nanoTime();
      List<Conn> conns =
          client.connectMany(m, inFlight, i -> listener, c -> {
            int u = c.id - 1;
            state[u] = new AtomicInteger(BUSY);
            return c.join(topic, false, true, "u" + u)
                .thenCompose(jr -> {
                  joinRefs[u] = jr;
                  return c.call(jr, topic, "presence", track(u, 0, 0));
                })
                .thenApply(x -> {
                  state[u].set(TRACKED);
                  return x;
                });
          }, 0);
      double setupSeconds = (System.nanoTime() - c0) / 1e9;
      LongAdder retracks = new LongAdder();
      LongAdder leaves = new LongAdder();
      LongAdder rejoins = new LongAdder();
      int[] version = new int[m];
      Random rnd = new Random(42);
      Pacer.Sender sender = due -> {
        int done = 0;
        for (int i = 0; i < due; i++) {
          int u = rnd.nextInt(m);
          Conn c = conns.get(u);
          int s = state[u].get();
          if (s == BUSY || !state[u].compareAndSet(s, BUSY)) {
            continue;
          }
          done++;
          String key = "u" + u;
          if (s == LEFT) {
            rejoins.increment();
            c.join(topic, false, true, key)
                .thenCompose(jr -> {
                  joinRefs[u] = jr;
                  return c.call(jr, topic, "presence", track(u, ++version[u], System.nanoTime()));
                })
                .whenComplete((x, e) -> {
                  if (e != null || !"ok".equals(x.path("status").asText())) {
                    errors.increment();
                  }
                  state[u].set(TRACKED);
                });
          } else if (rnd.nextInt(3) == 0) {
            leaves.increment();
            leaveSent.put(key, System.nanoTime());
            c.call(joinRefs[u], topic, "phx_leave", "{}").whenComplete((x, e) -> state[u].set(LEFT));
          } else {
            retracks.increment();
            c.call(joinRefs[u], topic, "presence", track(u, ++version[u], System.nanoTime()))
                .whenComplete((x, e) -> {
                  if (e != null || !"ok".equals(x.path("status").asText())) {
                    errors.increment();
                  }
                  state[u].set(TRACKED);
                });
          }
        }
        return due;
      };
      ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
      System.out.printf("presence: %.0f ops/s for %.0f s ...%n", rate, duration);
      long rss0 = probe.rss();
      long diffs0 = diffs.sum();
      Probe.Cpu cpu = new Probe.Cpu(probe.pid);
      long start = System.nanoTime();
      long from = start + (long) (warmup * 1e9);
      long until = start + (long) (duration * 1e9);
      joinLat.window(from, until);
      leaveLat.window(from, until);
      var run = Pacer.run(exec, rate, duration, sender);
      Pacer.Result pr = run.get((long) duration + 60, TimeUnit.SECONDS);
      double seconds = pr.seconds();
      double[] cpuPct = cpu.percent();
      Thread.sleep(2000);
      exec.shutdownNow();
      r.put("members", m)
          .put("setup_join_and_track_per_s", m / setupSeconds)
          .put("retracks_per_s", retracks.sum() / seconds)
          .put("leaves_per_s", leaves.sum() / seconds)
          .put("rejoins_per_s", rejoins.sum() / seconds)
          .put("op_errors", errors.sum())
          .put("diff_deliveries_per_s", (diffs.sum() - diffs0) / seconds)
          .put("presence_state_pushes", states.sum())
          .latency("join_diff", joinLat.snapshot())
          .latency("leave_diff", leaveLat.snapshot())
          .put("runtime_cpu_pct", cpuPct[0])
          .put("bench_cpu_pct", cpuPct[1])
          .put("runtime_rss_mb_before", Report.mb(rss0))
          .put("runtime_rss_mb_after", Report.mb(probe.rss()));
      Client.closeAll(conns, 10_000);
      return r;
    }
  }

  static String track(int u, int version, long nanos) {
    return "{\"type\":\"presence\",\"event\":\"track\",\"payload\":{\"user\":\"u" + u + "\",\"v\":" + version
        + ",\"pt\":" + nanos + "}}";
  }
}
