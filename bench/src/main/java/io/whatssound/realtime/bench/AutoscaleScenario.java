package io.whatssound.realtime.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.whatssound.realtime.operator.metrics.ConnectionMeter;
import io.whatssound.realtime.operator.model.Names;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A load ramp against a SessionPool that scales itself: clients arrive linearly up to {@code --clients} over
 * {@code --ramp} seconds, stay for {@code --hold} seconds, then all but {@code --low} leave, and the run goes on for
 * {@code --after} seconds. Every client behaves like supabase-js: it connects through the tenant's Service, joins one
 * room, and when the server closes its socket it reconnects after 1, 2, 5, then 10 s. Each second records the clients
 * wanted and joined, joins, server-initiated disconnects (by close code), failed attempts, refused joins, and the
 * pool's replicas as its status says ({@code kubectl get sessionpool}). Writes the series as CSV and a PNG plot.
 */
final class AutoscaleScenario {
  private static final long[] BACKOFF_MS = {1000, 2000, 5000, 10000};

  private final Options o;
  private final Client client;
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final Slot[] slots;
  private final int rooms;
  // counters of the current second, reset by the sampler
  private final AtomicInteger joins = new AtomicInteger();
  private final AtomicInteger disconnects = new AtomicInteger();
  private final AtomicInteger failedAttempts = new AtomicInteger();
  private final AtomicInteger refusedJoins = new AtomicInteger();
  private final AtomicInteger joined = new AtomicInteger();
  private final Map<String, AtomicLong> closeCodes = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> failures = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> refusals = new ConcurrentHashMap<>();
  private volatile PoolSample pool = new PoolSample(-1, -1, -1, "", "");

  /** The pool as kubectl shows it, and each running runtime pod's realtime_connections ("name=count ..."). */
  record PoolSample(int specReplicas, int readyReplicas, int connections, String reason, String pods) {}

  /** One second of the run. */
  record Row(int t, int wanted, int joined, int joins, int disconnects, int failedAttempts, int refusedJoins,
      int specReplicas, int readyReplicas, int poolConnections, String reason, String pods) {}

  private AutoscaleScenario(Options o) {
    this.o = o;
    this.client = new Client(o);
    this.slots = new Slot[o.integer("clients", 3000)];
    this.rooms = o.integer("rooms", 30);
    for (int i = 0; i < slots.length; i++) {
      slots[i] = new Slot(i);
    }
  }

  static Report run(Options o) throws Exception {
    AutoscaleScenario s = new AutoscaleScenario(o);
    try {
      return s.go();
    } finally {
      s.timers.shutdownNow();
      s.client.close();
    }
  }

  /** One client: wanted or not, and its current socket. Its state changes on the timer thread only. */
  private final class Slot {
    final int index;
    boolean wanted;
    Conn conn;
    boolean isJoined;
    int attempt;
    long generation;

    Slot(int index) {
      this.index = index;
    }

    void want() {
      if (!wanted) {
        wanted = true;
        attempt = 0;
        start();
      }
    }

    void release() {
      if (wanted) {
        wanted = false;
        generation++;
        if (isJoined) {
          isJoined = false;
          joined.decrementAndGet();
        }
        if (conn != null) {
          conn.close();
          conn = null;
        }
      }
    }

    void start() {
      long gen = ++generation;
      String topic = "realtime:autoscale-" + (index % rooms);
      client.connect(new Conn.Listener() {}, 0).thenCompose(c -> {
        timers.execute(() -> {
          if (gen == generation) {
            conn = c;
            c.closed.thenRun(() -> timers.execute(() -> closed(gen, c)));
          } else {
            c.close();
          }
        });
        return c.join(topic, false, true, "u" + index);
      }).whenComplete((ref, e) -> timers.execute(() -> started(gen, e)));
    }

    private void started(long gen, Throwable e) {
      if (gen != generation || !wanted) {
        return;
      }
      if (e == null) {
        joins.incrementAndGet();
        joined.incrementAndGet();
        isJoined = true;
        attempt = 0;
        return;
      }
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      String m = String.valueOf(cause.getMessage());
      if (m.startsWith("join of ")) {
        refusedJoins.incrementAndGet();
        String reason = m.contains("\"reason\":\"") ? m.replaceAll(".*\"reason\":\"([^\"]*)\".*", "$1") : m;
        refusals.computeIfAbsent(reason, k -> new AtomicLong()).incrementAndGet();
      } else {
        failedAttempts.incrementAndGet();
        failures.computeIfAbsent(cause.getClass().getSimpleName() + ": " + m, k -> new AtomicLong()).incrementAndGet();
      }
      retry();
    }

    private void closed(long gen, Conn c) {
      if (gen != generation || !wanted) {
        return;
      }
      if (isJoined) {
        isJoined = false;
        joined.decrementAndGet();
        disconnects.incrementAndGet();
        String code = c.closeCode < 0 ? "no close frame" : c.closeCode + " " + c.closeReason;
        closeCodes.computeIfAbsent(code, k -> new AtomicLong()).incrementAndGet();
        conn = null;
        retry();
      }
      // a socket that closed before its join completed is retried by started()
    }

    private void retry() {
      long gen = ++generation;
      long delay = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
      attempt++;
      timers.schedule(() -> {
        if (gen == generation && wanted) {
          start();
        }
      }, delay, TimeUnit.MILLISECONDS);
    }
  }

  private int target(double t, int peak, int ramp, int hold, int low) {
    if (t < ramp) {
      return (int) Math.round(peak * t / ramp);
    }
    return t < ramp + hold ? peak : low;
  }

  private Report go() throws Exception {
    int peak = slots.length;
    int ramp = o.integer("ramp", 60);
    int hold = o.integer("hold", 150);
    int low = o.integer("low", 300);
    int after = o.integer("after", 240);
    String kubectl = o.str("kubectl", "kubectl");
    String kubeconfig = o.str("kubeconfig", "");
    String ns = o.str("namespace", "listening-party");
    String poolName = o.str("pool", "listening-party-main");
    int maxReconnects = o.integer("max-reconnects-per-second", 20);
    Path out = Path.of(o.str("out", "bench/results/autoscale"));
    Files.createDirectories(out);
    Report r = new Report("autoscale", o);

    Thread kube = new Thread(() -> samplePool(kubectl, kubeconfig, ns, poolName), "pool-sampler");
    kube.setDaemon(true);
    kube.start();

    List<Row> rows = new ArrayList<>();
    long start = System.nanoTime();
    int total = ramp + hold + after;
    int wantedNow = 0;
    int nextSecond = 1;
    System.out.printf("autoscale: 0 -> %d clients in %d s, hold %d s, down to %d, watch %d s more%n", peak, ramp, hold,
        low, after);
    while (true) {
      double t = (System.nanoTime() - start) / 1e9;
      if (t >= total) {
        break;
      }
      int want = target(t, peak, ramp, hold, low);
      if (want != wantedNow) {
        int from = wantedNow;
        timers.execute(() -> {
          for (int i = from; i < want; i++) {
            slots[i].want();
          }
          for (int i = want; i < from; i++) {
            slots[i].release();
          }
        });
        wantedNow = want;
      }
      if (t >= nextSecond) {
        PoolSample p = pool;
        Row row = new Row(nextSecond, wantedNow, joined.get(), joins.getAndSet(0), disconnects.getAndSet(0),
            failedAttempts.getAndSet(0), refusedJoins.getAndSet(0), p.specReplicas(), p.readyReplicas(),
            p.connections(), p.reason(), p.pods());
        rows.add(row);
        if (nextSecond % 10 == 0) {
          System.out.printf("  t=%3ds wanted %4d joined %4d | joins/s %3d disconnects/s %3d | replicas %d ready %d (%s)"
              + " | %s%n", row.t(), row.wanted(), row.joined(), row.joins(), row.disconnects(), row.specReplicas(),
              row.readyReplicas(), row.reason(), row.pods());
        }
        nextSecond++;
      }
      Thread.sleep(20);
    }
    timers.submit(() -> Arrays.stream(slots).forEach(Slot::release)).get();

    long stamp = System.currentTimeMillis();
    Path csv = out.resolve("autoscale-" + stamp + ".csv");
    writeCsv(csv, rows);
    Path png = out.resolve("autoscale-" + stamp + ".png");
    AutoscalePlot.write(png, rows, maxReconnects, ramp, hold, o.str("title", "SessionPool autoscaling: 0 -> " + peak
        + " clients in " + ramp + " s, hold, down to " + low));
    summarize(r, rows, peak, ramp, hold, low, maxReconnects);
    r.put("series_csv", csv.toString());
    r.put("plot_png", png.toString());
    return r;
  }

  private void summarize(Report r, List<Row> rows, int peak, int ramp, int hold, int low, int maxReconnects) {
    int maxJoins = 0;
    int maxDisconnects = 0;
    long totalJoins = 0;
    long totalDisconnects = 0;
    long totalFailed = 0;
    long totalRefused = 0;
    int maxReplicas = 0;
    int secondsAboveRate = 0;
    Integer allJoinedAt = null;
    Map<Integer, Integer> readyAt = new TreeMap<>();
    Integer scaledDownAt = null;
    int startReplicas = rows.isEmpty() ? 0 : rows.get(0).readyReplicas();
    for (Row row : rows) {
      maxJoins = Math.max(maxJoins, row.joins());
      maxDisconnects = Math.max(maxDisconnects, row.disconnects());
      totalJoins += row.joins();
      totalDisconnects += row.disconnects();
      totalFailed += row.failedAttempts();
      totalRefused += row.refusedJoins();
      maxReplicas = Math.max(maxReplicas, row.readyReplicas());
      if (row.disconnects() > maxReconnects) {
        secondsAboveRate++;
      }
      if (row.t() <= ramp + hold && row.readyReplicas() > startReplicas) {
        readyAt.putIfAbsent(row.readyReplicas(), row.t());
      }
      if (allJoinedAt == null && row.t() >= ramp && row.joined() >= peak) {
        allJoinedAt = row.t();
      }
      if (scaledDownAt == null && row.t() > ramp + hold && row.specReplicas() > 0
          && row.readyReplicas() <= Math.max(1, startReplicas) && row.specReplicas() <= Math.max(1, startReplicas)) {
        scaledDownAt = row.t() - (ramp + hold);
      }
    }
    r.put("peak_ready_replicas", maxReplicas);
    readyAt.forEach((n, t) -> r.put("ready_" + n + "_at_s", t));
    r.put("all_" + peak + "_joined_at_s", allJoinedAt == null ? "never" : allJoinedAt);
    r.put("scaled_down_s_after_drop", scaledDownAt == null ? "not in the run" : scaledDownAt);
    r.put("joins_total", totalJoins);
    r.put("peak_joins_per_s", maxJoins);
    r.put("server_disconnects_total", totalDisconnects);
    r.put("peak_disconnects_per_s", maxDisconnects);
    r.put("seconds_above_" + maxReconnects + "_per_s", secondsAboveRate);
    r.put("failed_attempts", totalFailed);
    r.put("refused_joins", totalRefused);
    r.put("close_codes", closeCodes.isEmpty() ? "none" : closeCodes.toString());
    r.put("failures", failures.isEmpty() ? "none" : failures.toString());
    r.put("refusals", refusals.isEmpty() ? "none" : refusals.toString());
  }

  private static JsonNode kubectlJson(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    byte[] json = p.getInputStream().readAllBytes();
    return p.waitFor() == 0 ? Wire.JSON.readTree(json) : null;
  }

  private static void writeCsv(Path file, List<Row> rows) throws IOException {
    StringBuilder sb = new StringBuilder(
        "t,wanted,joined,joins,disconnects,failed_attempts,refused_joins,spec_replicas,ready_replicas,"
            + "pool_connections,reason,pods\n");
    for (Row row : rows) {
      sb.append(row.t()).append(',').append(row.wanted()).append(',').append(row.joined()).append(',')
          .append(row.joins()).append(',').append(row.disconnects()).append(',').append(row.failedAttempts())
          .append(',').append(row.refusedJoins()).append(',').append(row.specReplicas()).append(',')
          .append(row.readyReplicas()).append(',').append(row.poolConnections()).append(',').append(row.reason())
          .append(',').append(row.pods()).append('\n');
    }
    Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
  }

  /**
   * Reads the pool's spec and status once a second (kubectl, so the run needs nothing but a kubeconfig), and each
   * running runtime pod's {@code realtime_connections} from its metrics port (this host reaches pod IPs).
   */
  private void samplePool(String kubectl, String kubeconfig, String ns, String name) {
    List<String> base = new ArrayList<>(List.of(kubectl));
    if (!kubeconfig.isBlank()) {
      base.addAll(List.of("--kubeconfig", kubeconfig));
    }
    base.addAll(List.of("-n", ns, "get"));
    List<String> poolCmd = new ArrayList<>(base);
    poolCmd.addAll(List.of("sessionpool", name, "-o", "json"));
    List<String> podsCmd = new ArrayList<>(base);
    podsCmd.addAll(List.of("pods", "-l", Names.POOL_LABEL + "=" + name + "," + Names.COMPONENT_LABEL + "=runtime",
        "-o", "json"));
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    while (!Thread.currentThread().isInterrupted()) {
      try {
        JsonNode n = kubectlJson(poolCmd);
        JsonNode pods = kubectlJson(podsCmd);
        StringBuilder perPod = new StringBuilder();
        for (JsonNode pod : pods == null ? List.<JsonNode>of() : pods.path("items")) {
          String ip = pod.at("/status/podIP").asText("");
          if (ip.isEmpty() || !"Running".equals(pod.at("/status/phase").asText())) {
            continue;
          }
          String podName = pod.at("/metadata/name").asText();
          String shortName = podName.substring(podName.lastIndexOf('-') + 1);
          String count = "?";
          try {
            String body = http.send(HttpRequest.newBuilder(URI.create("http://" + ip + ":" + Names.METRICS_PORT
                + "/metrics")).timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString()).body();
            OptionalDouble c = ConnectionMeter.gauge(body, ConnectionMeter.GAUGE);
            count = c.isPresent() ? String.valueOf((long) c.getAsDouble()) : "?";
          } catch (IOException e) {
            count = "down";
          }
          perPod.append(perPod.isEmpty() ? "" : " ").append(shortName)
              .append(pod.at("/metadata/deletionTimestamp").isMissingNode() ? "" : "(stopping)").append('=')
              .append(count);
        }
        if (n != null) {
          pool = new PoolSample(n.at("/spec/replicas").asInt(-1), n.at("/status/readyReplicas").asInt(0),
              n.at("/status/connections").asInt(-1), n.at("/status/autoscaling/reason").asText(""), perPod.toString());
        }
        Thread.sleep(1000);
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        System.err.println("pool sample failed: " + e.getMessage());
        try {
          Thread.sleep(1000);
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }
}
