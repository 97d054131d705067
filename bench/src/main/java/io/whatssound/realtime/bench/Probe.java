package io.whatssound.realtime.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Looks at the runtime from outside: heap after a full GC ({@code jcmd}), RSS and CPU time
 * ({@code /proc}), and Prometheus counters from {@code /metrics}. Every reading is optional: without
 * {@code --pid} the process readings return -1.
 */
final class Probe {
  private static final Pattern USED = Pattern.compile("used (\\d+)K");
  private static final long TICKS_PER_SECOND = 100;
  final long pid;
  private final URI metrics;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  Probe(Options o, URI wsBase) {
    this.pid = o.number("pid", -1);
    this.metrics = URI.create("http://" + wsBase.getHost() + ":" + wsBase.getPort() + "/metrics");
  }

  boolean hasPid() {
    return pid > 0;
  }

  /** Runs a full GC in the runtime and returns the used heap afterwards, in bytes. */
  long heapAfterGc() {
    if (!hasPid()) {
      return -1;
    }
    run("jcmd", Long.toString(pid), "GC.run");
    return heapUsed();
  }

  /** Used heap now (no GC), in bytes. */
  long heapUsed() {
    if (!hasPid()) {
      return -1;
    }
    String out = run("jcmd", Long.toString(pid), "GC.heap_info");
    Matcher m = USED.matcher(out);
    return m.find() ? Long.parseLong(m.group(1)) * 1024 : -1;
  }

  static long rss(long pid) {
    if (pid <= 0) {
      return -1;
    }
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return -1;
  }

  long rss() {
    return rss(pid);
  }

  /** User plus system CPU time of a process, in milliseconds. */
  static long cpuMillis(long pid) {
    if (pid <= 0) {
      return -1;
    }
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 1000 / TICKS_PER_SECOND;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  long cpuMillis() {
    return cpuMillis(pid);
  }

  static long selfPid() {
    return ProcessHandle.current().pid();
  }

  /** The sum of every sample of {@code name} (all label sets), or -1 when unreachable. */
  double metric(String name) {
    try {
      HttpResponse<String> r =
          http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(10)).GET().build(),
              HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      double sum = 0;
      boolean found = false;
      for (String line : r.body().split("\n")) {
        if (line.startsWith(name) && (line.charAt(name.length()) == ' ' || line.charAt(name.length()) == '{')) {
          sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
          found = true;
        }
      }
      return found ? sum : 0;
    } catch (IOException | RuntimeException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** The value of one labelled sample, e.g. {@code realtime_rejections_total{reason="slow_consumer"}}. */
  double metric(String name, String label) {
    try {
      HttpResponse<String> r =
          http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(10)).GET().build(),
              HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      for (String line : r.body().split("\n")) {
        if (line.startsWith(name + "{") && line.contains(label)) {
          return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      return 0;
    } catch (IOException | RuntimeException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static String run(String... cmd) {
    try {
      Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(60, TimeUnit.SECONDS);
      return out;
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  /** CPU use of the runtime and of this bench over an interval, as % of one core. */
  static final class Cpu {
    private final long pid;
    private final long t0 = System.nanoTime();
    private final long rt0;
    private final long me0 = cpuMillis(selfPid());

    Cpu(long pid) {
      this.pid = pid;
      this.rt0 = cpuMillis(pid);
    }

    /** {runtime %, bench %} since construction. */
    double[] percent() {
      double wall = (System.nanoTime() - t0) / 1e6;
      double rt = pid > 0 ? (cpuMillis(pid) - rt0) * 100.0 / wall : -1;
      double me = (cpuMillis(selfPid()) - me0) * 100.0 / wall;
      return new double[] {rt, me};
    }
  }
}
