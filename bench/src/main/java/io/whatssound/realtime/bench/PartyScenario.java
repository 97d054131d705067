package io.whatssound.realtime.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * A listening-party-like mix: R rooms of L listeners; in each room chat at C msgs/s and the DJ's {@code playback:sync}
 * every S seconds, published over HTTP, and presence churn (K listeners a second per room leave and join again). On the
 * runtime the churn is real Presence (leave, join, track: diffs to the room); on nchan, which has no presence, the app
 * would publish joins and leaves itself, so the bench publishes two such messages per churn. Latency counts chat and
 * sync messages sent after the warm-up; CPU per delivery counts every message a listener received.
 */
final class PartyScenario {
  private PartyScenario() {}

  /** Publishes one message to a room; false when every publisher connection is busy. */
  private interface Publish {
    boolean post(int room, String event, String payload);
  }

  /** Publishes {@code event} to the rooms in turn, one bench payload each; the sequence is shared by the senders. */
  private static Pacer.Sender roomByRoom(Publish publish, int rooms, String event, String pad, long[] seq) {
    int[] next = {0};
    return due -> {
      int sent = 0;
      for (int i = 0; i < due; i++) {
        synchronized (seq) {
          if (!publish.post(next[0], event, Wire.jsonPayload(seq[0], System.nanoTime(), pad))) {
            break;
          }
          seq[0]++;
        }
        next[0] = (next[0] + 1) % rooms;
        sent++;
      }
      return sent;
    };
  }

  static Report run(Options o) throws Exception {
    int rooms = o.integer("rooms", 50);
    int listeners = o.integer("listeners", 200);
    double chatRate = o.decimal("chat-rate", 5);
    double syncEvery = o.decimal("sync-every", 2);
    double churn = o.decimal("churn", 1);
    double duration = o.decimal("duration", 30);
    double warmup = o.decimal("warmup", 5);
    int inFlight = o.integer("connect-concurrency", 200);
    int restConns = o.integer("rest-connections", 8);
    try (Client client = new Client(o)) {
      Probe probe = new Probe(o, client.base);
      Report r = new Report("party", o);
      Recorder rec = new Recorder();
      LongAdder presencePushes = new LongAdder();
      Conn.Listener listener = new Conn.Listener() {
        @Override
        public void broadcast(Conn c, long seq, long sent, long now) {
          rec.delivered(sent, now);
        }

        @Override
        public void push(Conn c, Wire.Msg m, long now) {
          presencePushes.increment();
        }
      };
      String run = "party-" + System.currentTimeMillis();
      List<String> names = new ArrayList<>();
      List<List<Conn>> members = new ArrayList<>();
      String[][] joinRefs = new String[rooms][listeners];
      System.out.printf("party: %d rooms of %d listeners (%s) ...%n", rooms, listeners,
          client.raw ? "nchan" : "runtime");
      long c0 = System.nanoTime();
      for (int room = 0; room < rooms; room++) {
        String name = run + "-" + room;
        String topic = "realtime:" + name;
        names.add(name);
        int rm = room;
        AtomicInteger next = new AtomicInteger();
        if (client.raw) {
          client.rawChannel(name);
          members.add(client.connectMany(listeners, inFlight, i -> listener, CompletableFuture::completedFuture, 0));
        } else {
          members.add(client.connectMany(listeners, inFlight, i -> listener, c -> {
            int u = next.getAndIncrement();
            return c.join(topic, false, true, "u" + u).thenCompose(jr -> {
              joinRefs[rm][u] = jr;
              return c.call(jr, topic, "presence", PresenceScenario.track(u, 0, 0));
            });
          }, 0));
        }
      }
      r.put("connect_and_join_per_s", rooms * listeners / ((System.nanoTime() - c0) / 1e9));
      RestPublisher rest = new RestPublisher(client, restConns);
      long[] seq = {0};
      // one publish to a room; nchan takes the payload as the message, the runtime a REST batch of one
      Publish publish = (room, event, payload) -> client.raw
          ? rest.post(Client.rawPublishPath(names.get(room)), payload)
          : rest.post("{\"messages\":[{\"topic\":\"" + names.get(room) + "\",\"event\":\"" + event
              + "\",\"payload\":" + payload + "}]}");
      Pacer.Sender chat = roomByRoom(publish, rooms, "chat", Wire.pad(100), seq);
      Pacer.Sender sync = roomByRoom(publish, rooms, "playback:sync", Wire.pad(60), seq);
      Random rnd = new Random(7);
      LongAdder churned = new LongAdder();
      LongAdder churnErrors = new LongAdder();
      Pacer.Sender churner = due -> {
        for (int i = 0; i < due; i++) {
          int room = rnd.nextInt(rooms);
          int u = rnd.nextInt(listeners);
          churned.increment();
          if (client.raw) {
            // what an nchan app publishes for a leave and a join
            rest.post(Client.rawPublishPath(names.get(room)), "{\"presence\":\"leave\",\"key\":\"u" + u + "\"}");
            rest.post(Client.rawPublishPath(names.get(room)), "{\"presence\":\"join\",\"key\":\"u" + u + "\"}");
            continue;
          }
          Conn c = members.get(room).get(u);
          String topic = "realtime:" + names.get(room);
          String ref = joinRefs[room][u];
          if (ref == null) {
            continue; // still rejoining from the last churn
          }
          joinRefs[room][u] = null;
          c.call(ref, topic, "phx_leave", "{}")
              .thenCompose(x -> c.join(topic, false, true, "u" + u))
              .thenCompose(jr -> c.call(jr, topic, "presence", PresenceScenario.track(u, 1, 0))
                  .thenApply(x -> jr))
              .whenComplete((jr, e) -> {
                if (e != null) {
                  churnErrors.increment();
                } else {
                  joinRefs[room][u] = jr;
                }
              });
        }
        return due;
      };
      ScheduledExecutorService chatExec = Executors.newSingleThreadScheduledExecutor();
      ScheduledExecutorService syncExec = Executors.newSingleThreadScheduledExecutor();
      ScheduledExecutorService churnExec = Executors.newSingleThreadScheduledExecutor();
      System.out.printf("party: chat %.0f msgs/s, sync %.0f msgs/s, churn %.0f/s for %.0f s ...%n", rooms * chatRate,
          rooms / syncEvery, rooms * churn, duration);
      long start = System.nanoTime();
      long from = start + (long) (warmup * 1e9);
      long until = start + (long) (duration * 1e9);
      rec.window(from, until);
      var chatDone = Pacer.run(chatExec, rooms * chatRate, duration, chat);
      var syncDone = Pacer.run(syncExec, rooms / syncEvery, duration, sync);
      var churnDone = churn > 0 ? Pacer.run(churnExec, rooms * churn, duration, churner) : null;
      FanoutScenario.sleepUntil(from);
      Probe.Cpu cpu = new Probe.Cpu(probe.pid);
      long d0 = rec.deliveries();
      long p0 = presencePushes.sum();
      long t0 = System.nanoTime();
      FanoutScenario.sleepUntil(until);
      double seconds = (System.nanoTime() - t0) / 1e9;
      double[] cpuPct = cpu.percent();
      double deliveries = (rec.deliveries() - d0) / seconds;
      double presence = (presencePushes.sum() - p0) / seconds;
      Pacer.Result chatResult = chatDone.get(60, TimeUnit.SECONDS);
      Pacer.Result syncResult = syncDone.get(60, TimeUnit.SECONDS);
      if (churnDone != null) {
        churnDone.get(60, TimeUnit.SECONDS);
      }
      Thread.sleep(2000);
      chatExec.shutdownNow();
      syncExec.shutdownNow();
      churnExec.shutdownNow();
      double all = deliveries + presence;
      r.put("sockets", rooms * listeners)
          .put("chat_msgs_per_s", chatResult.rate())
          .put("sync_msgs_per_s", syncResult.rate())
          .put("sends_skipped_behind", chatResult.skipped() + syncResult.skipped())
          .put("churn_total", churned.sum())
          .put("churn_errors", churnErrors.sum())
          .put("bench_deliveries_per_s", deliveries)
          .put("other_deliveries_per_s", presence)
          .latency("latency", rec.snapshot())
          .put("runtime_cpu_pct", cpuPct[0])
          .put("server_cpu_us_per_delivery", cpuPct[0] < 0 || all <= 0 ? -1 : cpuPct[0] / 100 * 1e6 / all)
          .put("bench_cpu_pct", cpuPct[1])
          .put("rest_statuses", rest.statusSummary());
      rest.close();
      for (List<Conn> m : members) {
        Client.closeAll(m, 10_000);
      }
      return r;
    }
  }
}
