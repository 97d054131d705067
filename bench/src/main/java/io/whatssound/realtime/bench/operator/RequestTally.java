package io.whatssound.realtime.bench.operator;

import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Drains the mock API server's request log and counts every request by phase, origin (the operator's client,
 * or the bench's, told apart by the bench's User-Agent), method and resource, e.g.
 * {@code quiet|operator|PUT realtimeclusters/status}. A request is counted in the phase current when it is
 * drained (a few milliseconds after it was served).
 */
final class RequestTally implements Runnable {
  static final String BENCH_AGENT = "realtime-bench";
  private final KubernetesMockServer server;
  private final Supplier<String> phase;
  private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
  private volatile boolean running = true;
  private final Thread thread;

  RequestTally(KubernetesMockServer server, Supplier<String> phase) {
    this.server = server;
    this.phase = phase;
    this.thread = new Thread(this, "request-tally");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void run() {
    while (running) {
      try {
        RecordedRequest r = server.takeRequest(100, TimeUnit.MILLISECONDS);
        if (r != null) {
          count(r);
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        // a request we cannot classify is not worth stopping the tally
      }
    }
  }

  private void count(RecordedRequest r) {
    String agent = r.getHeader("User-Agent");
    String origin = agent != null && agent.contains(BENCH_AGENT) ? "bench" : "operator";
    String key = phase.get() + "|" + origin + "|" + classify(r.getMethod(), r.getPath());
    counts.computeIfAbsent(key, k -> new LongAdder()).increment();
  }

  /** {@code GET services}, {@code GET services (list)}, {@code GET deployments (watch)}, {@code PATCH sessionpools/status}. */
  static String classify(String method, String path) {
    String p = path == null ? "" : path;
    boolean watch = p.contains("watch=true") || p.contains("watch=1");
    int q = p.indexOf('?');
    if (q >= 0) {
      p = p.substring(0, q);
    }
    String[] parts = p.split("/");
    String resource;
    String name = null;
    String sub = null;
    int ns = -1;
    for (int i = 0; i < parts.length; i++) {
      if (parts[i].equals("namespaces") && i + 2 < parts.length) {
        ns = i;
        break;
      }
    }
    if (ns >= 0) {
      resource = parts[ns + 2];
      name = ns + 3 < parts.length ? parts[ns + 3] : null;
      sub = ns + 4 < parts.length ? parts[ns + 4] : null;
    } else {
      resource = parts.length == 0 ? "/" : parts[parts.length - 1];
    }
    String what = resource + (sub == null ? "" : "/" + sub);
    if (watch) {
      what += " (watch)";
    } else if (name == null && "GET".equals(method)) {
      what += " (list)";
    }
    return method + " " + what;
  }

  /** Counts of one phase and origin, by request kind. */
  Map<String, Long> of(String phaseName, String origin) {
    Map<String, Long> m = new TreeMap<>();
    String prefix = phaseName + "|" + origin + "|";
    counts.forEach((k, v) -> {
      if (k.startsWith(prefix)) {
        m.put(k.substring(prefix.length()), v.sum());
      }
    });
    return m;
  }

  static long sum(Map<String, Long> m, java.util.function.Predicate<String> which) {
    return m.entrySet().stream().filter(e -> which.test(e.getKey())).mapToLong(Map.Entry::getValue).sum();
  }

  static boolean isWrite(String kind) {
    return kind.startsWith("POST ") || kind.startsWith("PUT ") || kind.startsWith("PATCH ") || kind.startsWith("DELETE ");
  }

  static boolean isStatusWrite(String kind) {
    return isWrite(kind) && kind.contains("/status");
  }

  /** Waits until the log is drained (requests served so far are counted). */
  void drain() throws InterruptedException {
    Thread.sleep(300);
  }

  void stop() {
    running = false;
    thread.interrupt();
  }
}
