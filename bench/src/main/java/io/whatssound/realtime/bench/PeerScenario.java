package io.whatssound.realtime.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The fan-out comparison with a peer: the runtime and nginx's nchan module, started in turn by this process as
 * children pinned to the server's cores ({@code taskset}), driven by the same load generator (this process, which the
 * command pins to the other core), in alternating rounds. Each target gets the same explicit warm-up run first. Every
 * case's report goes to {@code <out>/peer-<case>.csv}; the end prints each metric's median per target over the rounds
 * and the ratio runtime / nchan.
 *
 * <p>Cases: {@code fixed} (fan-out at fixed rates: latency and server CPU per delivery), {@code overload} (more than
 * either can deliver: deliveries/s and CPU per delivery), {@code ramp} and {@code ramp10k} (the highest delivery rate
 * whose p99 stays within 25, 50 and 100 ms, at 1,000 and 10,000 subscribers), {@code party} (50 rooms of 200
 * listeners: chat, playback sync and presence churn).
 */
final class PeerScenario {
  private static final String SECRET = "peer-benchmark-secret-0123456789abcdef";

  private PeerScenario() {}

  /** A case: its name, the scenario it runs, that scenario's options, and the metrics compared (true: higher wins). */
  private record Case(String name, String scenario, List<String> args, Map<String, Boolean> metrics) {}

  static int run(List<String> args) throws Exception {
    Options o = new Options(args);
    int rounds = o.integer("rounds", 3);
    String cpus = o.str("server-cpus", "0");
    Path jar = Path.of(o.str("runtime-jar", "realtime-runtime/target/realtime-runtime.jar"));
    String jvm = o.str("runtime-jvm", "-Xms1g -Xmx1g -XX:+UseG1GC -XX:+AlwaysPreTouch");
    String nginx = o.str("nginx", "nginx");
    String module = o.str("nchan-module", "/usr/lib/nginx/modules/ngx_nchan_module.so");
    Path conf = Path.of(o.str("nchan-conf", "bench/peer/nchan.conf"));
    Path out = Path.of(o.str("out", "bench/results"));
    List<String> only = Arrays.asList(o.str("cases", "fixed,overload,ramp,ramp10k,party").split(","));
    double serverWarmup = o.decimal("server-warmup", 10);
    // runtime:<transport> runs the runtime with REALTIME_TRANSPORT=<transport>
    List<String> targets = Arrays.asList(o.str("targets", "runtime,nchan").split(","));
    if (!targets.contains("nchan")) {
      throw new IllegalArgumentException("--targets must include nchan, the peer the ratios divide by");
    }
    if (!Files.isRegularFile(jar)) {
      throw new IllegalArgumentException("No runtime jar at " + jar + ": ./mvnw -B -q package -DskipTests");
    }
    if (!Files.isRegularFile(Path.of(module))) {
      throw new IllegalArgumentException(
          "No nchan module at " + module + ": apt-get install nginx-light libnginx-mod-nchan");
    }
    String pinned = Files.readAllLines(Path.of("/proc/self/status")).stream()
        .filter(l -> l.startsWith("Cpus_allowed_list:")).map(l -> l.substring(18).trim()).findFirst().orElse("?");
    System.out.printf("peer: load generator on CPUs %s, servers on CPUs %s%n", pinned, cpus);
    if (pinned.contains(cpus)) {
      System.out.println(
          "peer: WARNING the load generator may share the servers' CPUs: run it under taskset -c <other>");
    }

    List<Case> cases = new ArrayList<>();
    for (String rate : o.str("fixed-rates", "10,40").split(",")) {
      cases.add(new Case("fixed-1000x" + rate, "fanout",
          List.of("--subscribers", "1000", "--rate", rate, "--duration", "20", "--warmup", "5", "--via", "rest"),
          metrics("latency_p50_ms", false, "latency_p99_ms", false, "server_cpu_us_per_delivery", false)));
    }
    cases.add(new Case("overload-10000x100", "fanout",
        List.of("--subscribers", "10000", "--rate", "100", "--duration", "20", "--warmup", "5", "--via", "rest"),
        metrics("deliveries_per_s_steady", true, "server_cpu_us_per_delivery", false, "latency_p99_ms", false,
            "lost", false)));
    cases.add(new Case("ramp-1000", "ramp",
        List.of("--subscribers", "1000", "--start-rate", "10", "--step", "5", "--warmup", "5",
            "--p99-bounds", "25,50,100"),
        rampMetrics(25, 50, 100)));
    // at 10,000 subscribers one generator core reads each message's 10,000 frames one after the other, which alone
    // takes tens of milliseconds: wider bounds keep the comparison meaningful
    cases.add(new Case("ramp-10000", "ramp",
        List.of("--subscribers", "10000", "--start-rate", "1", "--step", "5", "--warmup", "5",
            "--p99-bounds", "100,250,500"),
        rampMetrics(100, 250, 500)));
    cases.add(new Case("party", "party",
        List.of("--rooms", "50", "--listeners", "200", "--chat-rate", "5", "--sync-every", "2", "--churn", "1",
            "--duration", "30", "--warmup", "5"),
        // the runtime batches presence diffs and nchan's app publishes each join and leave: per-delivery CPU would
        // compare different work, so the party compares the server's CPU for the same party
        metrics("latency_p50_ms", false, "latency_p99_ms", false, "runtime_cpu_pct", false)));
    cases.removeIf(c -> only.stream().noneMatch(x -> c.name.startsWith(x.equals("ramp10k") ? "ramp-10000"
        : x.equals("ramp") ? "ramp-1000" : x)));

    // results.get(case).get(target) = one report per round
    Map<String, Map<String, List<Report>>> results = new LinkedHashMap<>();
    for (int round = 1; round <= rounds; round++) {
      List<String> order = new ArrayList<>(targets);
      if (round % 2 == 0) {
        Collections.reverse(order);
      }
      for (String target : order) {
        try (Server server = Server.start(target, cpus, jar, jvm, nginx, module, conf)) {
          System.out.printf("%npeer: round %d of %d, %s (pid %d, port %d)%n", round, rounds, target, server.pid(),
              server.port);
          if (serverWarmup > 0) {
            FanoutScenario.run(options(server, List.of("--subscribers", "1000", "--rate", "50", "--duration",
                String.valueOf(serverWarmup), "--warmup", "0", "--via", "rest"), o));
          }
          for (Case c : cases) {
            Options co = options(server, c.args, o);
            Report r = switch (c.scenario) {
              case "ramp" -> RampScenario.run(co);
              case "party" -> PartyScenario.run(co);
              default -> FanoutScenario.run(co);
            };
            r.put("target", target).put("round", round).put("case", c.name);
            r.print();
            r.writeCsv(out, "peer-" + c.name);
            results.computeIfAbsent(c.name, k -> new LinkedHashMap<>()).computeIfAbsent(target, k -> new ArrayList<>())
                .add(r);
          }
        }
      }
    }
    printSummary(cases, results, rounds, targets);
    return 0;
  }

  private static Map<String, Boolean> rampMetrics(int... boundsMs) {
    Map<String, Boolean> m = new LinkedHashMap<>();
    for (int b : boundsMs) {
      m.put("max_deliveries_per_s_p99_le_" + b + "ms", true);
    }
    return m;
  }

  private static Map<String, Boolean> metrics(Object... pairs) {
    Map<String, Boolean> m = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      m.put((String) pairs[i], (Boolean) pairs[i + 1]);
    }
    return m;
  }

  /** A case's options against {@code server}, with the load generator's own options passed through. */
  private static Options options(Server server, List<String> caseArgs, Options o) {
    List<String> a = new ArrayList<>(caseArgs);
    a.addAll(List.of("--target", server.nchan() ? "nchan" : "runtime", "--url", server.socketUrl(), "--secret", SECRET,
        "--pid", Long.toString(server.pid()), "--out", o.str("out", "bench/results")));
    for (String pass : List.of("sources", "threads", "connect-concurrency", "payload")) {
      if (o.has(pass)) {
        a.addAll(List.of("--" + pass, o.str(pass, "")));
      }
    }
    // one request in flight per connection: enough of them that the publisher keeps up while latency grows
    a.addAll(List.of("--rest-connections", o.str("rest-connections", "32")));
    return new Options(a);
  }

  private static void printSummary(List<Case> cases, Map<String, Map<String, List<Report>>> results, int rounds,
      List<String> targets) {
    List<String> runtimes = targets.stream().filter(t -> !t.equals("nchan")).toList();
    System.out.printf("%npeer: medians of %d rounds; ratio = target / nchan%n", rounds);
    StringBuilder head = new StringBuilder(String.format("%-20s %-34s %-7s %12s", "case", "metric", "better", "nchan"));
    runtimes.forEach(t -> head.append(String.format(" %18s %7s", t, "ratio")));
    System.out.println(head);
    for (Case c : cases) {
      Map<String, List<Report>> byTarget = results.getOrDefault(c.name, Map.of());
      for (var m : c.metrics.entrySet()) {
        double nc = median(byTarget.getOrDefault("nchan", List.of()), m.getKey());
        StringBuilder line = new StringBuilder(String.format("%-20s %-34s %-7s %12.2f", c.name, m.getKey(),
            m.getValue() ? "higher" : "lower", nc));
        for (String t : runtimes) {
          double v = median(byTarget.getOrDefault(t, List.of()), m.getKey());
          line.append(String.format(" %18.2f %7s", v, nc > 0 && v >= 0 ? String.format("%.2f", v / nc) : "-"));
        }
        System.out.println(line);
      }
    }
  }

  static double median(List<Report> reports, String metric) {
    double[] v = reports.stream().mapToDouble(r -> r.number(metric)).filter(x -> !Double.isNaN(x)).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  /** One server under test, a child process pinned to the server's CPUs; closing it stops it. */
  private static final class Server implements AutoCloseable {
    final String target;
    final int port;
    private final Process process;
    private final Path dir;

    private Server(String target, int port, Process process, Path dir) {
      this.target = target;
      this.port = port;
      this.process = process;
      this.dir = dir;
    }

    long pid() {
      return process.pid();
    }

    String socketUrl() {
      return nchan() ? "ws://127.0.0.1:" + port + "/sub" : "ws://127.0.0.1:" + port + "/socket/websocket";
    }

    boolean nchan() {
      return target.equals("nchan");
    }

    static Server start(String target, String cpus, Path jar, String jvm, String nginx, String module, Path conf)
        throws Exception {
      int port;
      try (ServerSocket s = new ServerSocket(0)) {
        port = s.getLocalPort();
      }
      Path dir = Files.createTempDirectory("peer-" + target.replace(':', '-') + "-");
      List<String> cmd = new ArrayList<>(List.of("taskset", "-c", cpus));
      ProcessBuilder pb = new ProcessBuilder();
      URI ready;
      if (target.equals("nchan")) {
        String text = Files.readString(conf).replace("@MODULE@", module).replace("@DIR@", dir.toString())
            .replace("@PORT@", Integer.toString(port));
        Path file = dir.resolve("nginx.conf");
        Files.writeString(file, text);
        cmd.addAll(List.of(nginx, "-p", dir.toString(), "-c", file.toString(),
            "-e", dir.resolve("error.log").toString()));
        ready = URI.create("http://127.0.0.1:" + port + "/pub/ready");
      } else if (target.equals("runtime") || target.startsWith("runtime:")) {
        cmd.add("java");
        cmd.addAll(Arrays.asList(jvm.trim().split("\\s+")));
        cmd.addAll(List.of("-jar", jar.toString()));
        pb.environment().putAll(Map.of(
            "REALTIME_PORT", Integer.toString(port), "REALTIME_HOST", "127.0.0.1", "REALTIME_DB_URL", "none",
            "REALTIME_JWT_SECRET", SECRET, "REALTIME_MAX_CONCURRENT_USERS", "19000",
            "REALTIME_MAX_EVENTS_PER_SECOND", "10000000", "REALTIME_MAX_JOINS_PER_SECOND", "100000",
            "REALTIME_SLOW_CONSUMER_DROPS", "1000000000"));
        if (target.startsWith("runtime:")) {
          pb.environment().put("REALTIME_TRANSPORT", target.substring("runtime:".length()));
        }
        ready = URI.create("http://127.0.0.1:" + port + "/readyz");
      } else {
        throw new IllegalArgumentException("Unknown target '" + target + "': runtime, runtime:<transport> or nchan");
      }
      Path log = dir.resolve("server.log");
      Process p = pb.command(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      Server server = new Server(target, port, p, dir);
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
      Instant deadline = Instant.now().plusSeconds(60);
      while (true) {
        if (!p.isAlive()) {
          throw new IllegalStateException(target + " exited at start (" + p.exitValue() + "): see " + log);
        }
        try {
          HttpRequest.Builder req = HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(2));
          int status = http.send(server.nchan() ? req.POST(HttpRequest.BodyPublishers.ofString("ready")).build()
              : req.GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode();
          if (status < 300) {
            return server;
          }
        } catch (IOException e) {
          // not listening yet
        }
        if (Instant.now().isAfter(deadline)) {
          server.close();
          throw new IllegalStateException(target + " was not ready within 60 s: see " + log);
        }
        Thread.sleep(200);
      }
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      System.out.printf("peer: %s stopped; its log and files are in %s%n", target, dir);
    }
  }
}
