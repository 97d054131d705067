package io.whatssound.realtime.bench.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Counts every request the API server answered by phase, origin (the operator's client or the bench's) and
 * method and resource, e.g. {@code quiet|operator|PUT realtimeclusters/status}. Two sources: the mock API
 * server's request log (origin told apart by the bench's User-Agent) and a real API server's audit log (one JSON
 * line per completed request; origin told apart by the authenticated user). A request is counted in the phase
 * current when it is read (a few hundred milliseconds after it was served at most).
 */
final class RequestTally {
  static final String BENCH_AGENT = "realtime-bench";
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Supplier<String> phase;
  private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
  private volatile boolean running = true;
  private Thread thread;

  private RequestTally(Supplier<String> phase) {
    this.phase = phase;
  }

  private RequestTally start(Runnable loop) {
    thread = new Thread(loop, "request-tally");
    thread.setDaemon(true);
    thread.start();
    return this;
  }

  /** From the mock server's request log. */
  static RequestTally mockServer(KubernetesMockServer server, Supplier<String> phase) {
    RequestTally t = new RequestTally(phase);
    return t.start(() -> {
      while (t.running) {
        try {
          RecordedRequest r = server.takeRequest(100, TimeUnit.MILLISECONDS);
          if (r != null) {
            String agent = r.getHeader("User-Agent");
            t.count(agent != null && agent.contains(BENCH_AGENT) ? "bench" : "operator", r.getMethod(), r.getPath());
          }
        } catch (InterruptedException e) {
          return;
        } catch (RuntimeException e) {
          // a request we cannot classify is not worth stopping the tally
        }
      }
    });
  }

  /** From a real API server's audit log (JSON lines), following it as it grows; {@code operatorUser} is the operator's. */
  static RequestTally auditLog(Path log, String operatorUser, Supplier<String> phase) {
    RequestTally t = new RequestTally(phase);
    return t.start(() -> {
      long offset = 0;
      StringBuilder partial = new StringBuilder();
      while (t.running) {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
          if (f.length() > offset) {
            f.seek(offset);
            byte[] b = new byte[(int) Math.min(f.length() - offset, 1 << 20)];
            f.readFully(b);
            offset += b.length;
            partial.append(new String(b, StandardCharsets.UTF_8));
            int nl;
            while ((nl = partial.indexOf("\n")) >= 0) {
              String line = partial.substring(0, nl);
              partial.delete(0, nl + 1);
              t.audit(line, operatorUser);
            }
            continue;
          }
        } catch (IOException e) {
          // not written yet
        }
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
  }

  private void audit(String line, String operatorUser) {
    try {
      JsonNode e = JSON.readTree(line);
      String user = e.at("/user/username").asText();
      String method = switch (e.path("verb").asText()) {
        case "create" -> "POST";
        case "update" -> "PUT";
        case "patch" -> "PATCH";
        case "delete", "deletecollection" -> "DELETE";
        default -> "GET";
      };
      String uri = e.path("requestURI").asText();
      if ("watch".equals(e.path("verb").asText()) && !uri.contains("watch=")) {
        uri += (uri.contains("?") ? "&" : "?") + "watch=true";
      }
      count(operatorUser.equals(user) ? "operator" : user.startsWith("system:") ? "system" : "bench", method, uri);
    } catch (IOException | RuntimeException e) {
      // a line we cannot read is not worth stopping the tally
    }
  }

  private void count(String origin, String method, String path) {
    String key = phase.get() + "|" + origin + "|" + classify(method, path);
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

  static long sum(Map<String, Long> m, Predicate<String> which) {
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
    Thread.sleep(500);
  }

  void stop() {
    running = false;
    thread.interrupt();
  }
}
