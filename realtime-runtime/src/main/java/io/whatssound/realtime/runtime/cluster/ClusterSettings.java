package io.whatssound.realtime.runtime.cluster;

import io.whatssound.realtime.postgres.RuntimeEnv;
import io.whatssound.realtime.runtime.config.RuntimeConfig.ConfigException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How this pod finds and talks to the other pods of its tenant. Neither {@code peers} nor {@code dns}
 * set means a single node without any cluster messaging.
 *
 * @param name             the JGroups cluster name; pods with the same name form one cluster
 * @param port             TCP port for cluster traffic (failure detection uses {@code port + 100})
 * @param peers            static peers (TCPPING), may include this pod
 * @param dns              headless Service name for DNS discovery (DNS_PING)
 * @param bind             address to bind the cluster port to
 * @param failureDetection how long a silent pod may go unnoticed before it is suspected (FD_ALL3 timeout);
 *                         its presences leave everywhere within about this plus {@link #verifyTimeout()}
 * @param mergeInterval    the longest time between two merge checks after a partition (MERGE3)
 * @param statusInterval   how often a pod shares its connected-user count and slot status
 * @param key              the tenant's cluster key: with it, every message between pods is encrypted with a key
 *                         derived from it, and a pod without the same key cannot join
 */
public record ClusterSettings(
    String name, int port, List<InetSocketAddress> peers, Optional<String> dns, String bind,
    Duration failureDetection, Duration mergeInterval, Duration statusInterval, Optional<String> key) {

  public static final int DEFAULT_PORT = 7800;
  /** The shortest cluster key taken: a key that can be guessed protects nothing. */
  public static final int MIN_KEY_LENGTH = 16;

  /** Never shows the key. */
  @Override
  public String toString() {
    return "ClusterSettings[name=" + name + ", port=" + port + ", peers=" + peers + ", dns=" + dns + ", bind=" + bind
        + ", failureDetection=" + failureDetection + ", mergeInterval=" + mergeInterval + ", statusInterval="
        + statusInterval + ", key=" + (key.isPresent() ? "(set)" : "(none)") + "]";
  }

  public ClusterSettings {
    peers = List.copyOf(peers);
  }

  /** Whether this pod forms a cluster with others. */
  public boolean enabled() {
    return !peers.isEmpty() || dns.isPresent();
  }

  /** A single node: no cluster messaging at all. */
  public static ClusterSettings single(String name) {
    return new ClusterSettings(name, DEFAULT_PORT, List.of(), Optional.empty(), "127.0.0.1",
        Duration.ofSeconds(6), Duration.ofSeconds(20), Duration.ofSeconds(1), Optional.empty());
  }

  /** How long VERIFY_SUSPECT2 double-checks a suspected pod. */
  public Duration verifyTimeout() {
    return Duration.ofMillis(Math.max(200, Math.min(1500, failureDetection.toMillis() / 4)));
  }

  /**
   * Reads {@code REALTIME_CLUSTER_*}; {@code defaultName} (one per tenant, e.g. from the slot) names the
   * cluster when {@code REALTIME_CLUSTER_NAME} is not set.
   */
  public static ClusterSettings fromEnv(Map<String, String> env, String defaultName) {
    String name = text(env, RuntimeEnv.REALTIME_CLUSTER_NAME).orElse(defaultName);
    int port = integer(env, RuntimeEnv.REALTIME_CLUSTER_PORT, DEFAULT_PORT, 1, 65435);
    List<InetSocketAddress> peers = new ArrayList<>();
    Optional<String> rawPeers = text(env, RuntimeEnv.REALTIME_CLUSTER_PEERS);
    if (rawPeers.isPresent()) {
      for (String p : rawPeers.get().split(",")) {
        if (!p.isBlank()) {
          peers.add(peer(RuntimeEnv.REALTIME_CLUSTER_PEERS, p.trim(), port));
        }
      }
    }
    Optional<String> dns = text(env, RuntimeEnv.REALTIME_CLUSTER_DNS);
    if (!peers.isEmpty() && dns.isPresent()) {
      throw new ConfigException("Set either REALTIME_CLUSTER_PEERS (static peers) or REALTIME_CLUSTER_DNS "
          + "(a headless Service), not both");
    }
    String bind = text(env, RuntimeEnv.REALTIME_CLUSTER_BIND).orElseGet(() -> defaultBind(peers));
    Duration fd = Duration.ofMillis(integer(env, RuntimeEnv.REALTIME_CLUSTER_FAILURE_DETECTION_MS, 6000, 500, 600_000));
    Duration merge = Duration.ofMillis(integer(env, RuntimeEnv.REALTIME_CLUSTER_MERGE_INTERVAL_MS, 20_000, 500, 600_000));
    Duration status = Duration.ofMillis(integer(env, RuntimeEnv.REALTIME_CLUSTER_STATUS_INTERVAL_MS, 1000, 50, 60_000));
    Optional<String> key = text(env, RuntimeEnv.REALTIME_CLUSTER_KEY);
    if (key.isPresent() && key.get().length() < MIN_KEY_LENGTH) {
      throw new ConfigException(RuntimeEnv.REALTIME_CLUSTER_KEY + " must be at least " + MIN_KEY_LENGTH
          + " characters (e.g. openssl rand -base64 32); the operator generates one per tenant");
    }
    return new ClusterSettings(name, port, peers, dns, bind, fd, merge, status, key);
  }

  private static InetSocketAddress peer(String var, String hostPort, int defaultPort) {
    int colon = hostPort.lastIndexOf(':');
    String host = colon < 0 ? hostPort : hostPort.substring(0, colon);
    int p = defaultPort;
    if (colon >= 0) {
      try {
        p = Integer.parseInt(hostPort.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new ConfigException(var + " must be a comma list of host:port, got '" + hostPort + "'");
      }
    }
    if (host.isEmpty() || p < 1 || p > 65535) {
      throw new ConfigException(var + " must be a comma list of host:port, got '" + hostPort + "'");
    }
    return InetSocketAddress.createUnresolved(host, p);
  }

  /** Loopback when every peer is loopback (local runs, tests), else this machine's site-local address. */
  static String defaultBind(List<InetSocketAddress> peers) {
    if (!peers.isEmpty() && peers.stream().allMatch(ClusterSettings::isLoopback)) {
      return "127.0.0.1";
    }
    try {
      for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (!ni.isUp() || ni.isLoopback()) {
          continue;
        }
        for (InetAddress a : Collections.list(ni.getInetAddresses())) {
          if (a instanceof Inet4Address && a.isSiteLocalAddress()) {
            return a.getHostAddress();
          }
        }
      }
      return InetAddress.getLocalHost().getHostAddress();
    } catch (SocketException | UnknownHostException e) {
      return "127.0.0.1";
    }
  }

  private static boolean isLoopback(InetSocketAddress a) {
    String h = a.getHostString();
    if (h.equals("localhost") || h.startsWith("127.") || h.equals("::1")) {
      return true;
    }
    try {
      return InetAddress.getByName(h).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static Optional<String> text(Map<String, String> env, String name) {
    return Optional.ofNullable(env.get(name)).map(String::trim).filter(s -> !s.isEmpty());
  }

  private static int integer(Map<String, String> env, String name, int fallback, int min, int max) {
    Optional<String> v = text(env, name);
    if (v.isEmpty()) {
      return fallback;
    }
    int n;
    try {
      n = Integer.parseInt(v.get());
    } catch (NumberFormatException e) {
      throw new ConfigException(name + " must be a whole number, got '" + v.get() + "'");
    }
    if (n < min || n > max) {
      throw new ConfigException(name + " must be between " + min + " and " + max + ", got " + n);
    }
    return n;
  }
}
