package io.whatssound.realtime.operator.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The example's supabase-js client ({@code examples/listening-party/client/party.mjs}) as a child process, configured
 * by the environment it documents; every JSON line it prints is kept.
 */
final class PartyClient implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  final String listener;
  private final Process process;
  private final List<JsonNode> events = new CopyOnWriteArrayList<>();
  private final StringBuilder stderr = new StringBuilder();

  private PartyClient(String listener, Process process) {
    this.listener = listener;
    this.process = process;
    Thread out = new Thread(() -> read(process.inputReader(StandardCharsets.UTF_8), true), "party-" + listener);
    Thread err = new Thread(() -> read(process.errorReader(StandardCharsets.UTF_8), false), "party-err-" + listener);
    out.setDaemon(true);
    err.setDaemon(true);
    out.start();
    err.start();
  }

  /** {@code npm ci} in the client's folder when its packages are missing (from its committed lock file). */
  static void install() {
    Path dir = Examples.dir().resolve("client");
    if (Files.isDirectory(dir.resolve("node_modules/@supabase/supabase-js"))) {
      return;
    }
    try {
      Process p = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(dir.toFile()).inheritIO().start();
      if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
        throw new AssertionError("npm ci in " + dir + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted");
    }
  }

  /** {@code LISTENER=<listener> REALTIME_URL=<url> ANON_KEY=<key> [extra...] node party.mjs}. */
  static PartyClient start(String listener, String url, String anonKey, Map<String, String> extra) {
    install();
    Path dir = Examples.dir().resolve("client");
    ProcessBuilder pb = new ProcessBuilder("node", "party.mjs").directory(dir.toFile());
    pb.environment().putAll(Map.of("LISTENER", listener, "REALTIME_URL", url, "ANON_KEY", anonKey));
    pb.environment().putAll(extra);
    try {
      return new PartyClient(listener, pb.start());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start node party.mjs (Node.js 20+ on the PATH?)", e);
    }
  }

  private void read(BufferedReader reader, boolean json) {
    try (reader) {
      String line;
      while ((line = reader.readLine()) != null) {
        if (!json) {
          synchronized (stderr) {
            stderr.append(line).append('\n');
          }
          continue;
        }
        try {
          events.add(JSON.readTree(line));
        } catch (IOException e) {
          events.add(JSON.createObjectNode().put("event", "unparsable").put("line", line));
        }
      }
    } catch (IOException e) {
      // the process ended
    }
  }

  List<JsonNode> events() {
    return List.copyOf(events);
  }

  List<JsonNode> events(String event) {
    return events.stream().filter(e -> event.equals(e.path("event").asText())).toList();
  }

  /** The first event matching {@code p}, waiting up to {@code timeout}. */
  JsonNode await(String what, Duration timeout, Predicate<JsonNode> p) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (JsonNode e : events) {
        if (p.test(e)) {
          return e;
        }
      }
      if (!process.isAlive()) {
        break;
      }
      pause(100);
    }
    throw new AssertionError(listener + ": no " + what + " within " + timeout + (process.isAlive() ? "" : " (exited "
        + process.exitValue() + ")") + "\nevents: " + events + "\nstderr: " + stderr());
  }

  JsonNode awaitEvent(String event, Duration timeout, Predicate<JsonNode> p) {
    return await(event, timeout, e -> event.equals(e.path("event").asText()) && p.test(e));
  }

  /** Until its channel has been SUBSCRIBED. */
  void awaitSubscribed(Duration timeout) {
    awaitEvent("status", timeout, e -> "SUBSCRIBED".equals(e.path("status").asText()));
  }

  String stderr() {
    synchronized (stderr) {
      return stderr.toString();
    }
  }

  /** SIGTERM: the client untracks, leaves and exits by itself. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted");
    }
  }
}
