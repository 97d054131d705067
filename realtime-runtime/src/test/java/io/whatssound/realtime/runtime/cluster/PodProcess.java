package io.whatssound.realtime.runtime.cluster;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One runtime pod as its own JVM: {@code java -jar $REALTIME_JAR} when that is set (the jar Maven's
 * package phase builds), else {@code Main} on the test class path (the same code, no jar needed).
 */
final class PodProcess implements AutoCloseable {
  /** The JWT secret of the cluster tests' pods. */
  static final String SECRET = "cluster-test-secret-with-at-least-32-characters";

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  final String host;
  final int port;
  final int clusterPort;
  final Path log;
  private final Process process;

  PodProcess(int port, int clusterPort, Map<String, String> env, Path logDir) throws Exception {
    this("127.0.0.1", List.of(), port, clusterPort, env, logDir);
  }

  /**
   * A pod serving on {@code host}, started through {@code launcher} (e.g. {@code ip netns exec <ns>}, which execs the
   * JVM in place, so that signals reach it).
   */
  PodProcess(String host, List<String> launcher, int port, int clusterPort, Map<String, String> env, Path logDir)
      throws Exception {
    this.host = host;
    this.port = port;
    this.clusterPort = clusterPort;
    this.log = logDir.resolve("pod-" + host + "-" + port + ".log");
    List<String> cmd = new ArrayList<>(launcher);
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx256m");
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-Djava.net.preferIPv4Stack=true");
    Optional<String> jar = Optional.ofNullable(System.getenv("REALTIME_JAR")).filter(j -> new File(j).isFile());
    if (jar.isPresent()) {
      cmd.add("-jar");
      cmd.add(jar.get());
    } else {
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
      cmd.add("io.whatssound.realtime.runtime.Main");
    }
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    Map<String, String> e = pb.environment();
    e.keySet().removeIf(k -> k.startsWith("REALTIME_"));
    e.putAll(env);
    e.put("REALTIME_PORT", Integer.toString(port));
    e.put("REALTIME_HOST", host);
    e.put("REALTIME_CLUSTER_PORT", Integer.toString(clusterPort));
    e.put("REALTIME_JWT_SECRET", SECRET);
    e.put("REALTIME_JOIN_ERROR_DELAY_MS", "0");
    this.process = pb.start();
  }

  static Map<String, String> env(String name, List<Integer> clusterPorts, Map<String, String> extra) {
    Map<String, String> env = new HashMap<>(extra);
    env.put("REALTIME_CLUSTER_NAME", name);
    env.put("REALTIME_CLUSTER_PEERS",
        String.join(",", clusterPorts.stream().map(p -> "127.0.0.1:" + p).toList()));
    return env;
  }

  boolean alive() {
    return process.isAlive();
  }

  /** {@code kill -9}. */
  void kill() throws InterruptedException {
    process.destroyForcibly().waitFor();
  }

  boolean ready() {
    return get("/readyz").map(r -> r.statusCode() == 200).orElse(false);
  }

  /** A metric's value from {@code /metrics}, or -1. */
  double metric(String name) {
    return get("/metrics").map(r -> {
      Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{[^}]*})? ([0-9.eE+-]+)$").matcher(r.body());
      return m.find() ? Double.parseDouble(m.group(2)) : -1;
    }).orElse(-1.0);
  }

  private Optional<HttpResponse<String>> get(String path) {
    try {
      return Optional.of(HTTP.send(
          HttpRequest.newBuilder(URI.create("http://" + host + ":" + port + path)).timeout(Duration.ofSeconds(2)).build(),
          HttpResponse.BodyHandlers.ofString()));
    } catch (Exception e) {
      return Optional.empty();
    }
  }

  String logTail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (Exception e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
