package io.whatssound.realtime.runtime.conformance;

import io.whatssound.realtime.runtime.config.RuntimeConfig;
import io.whatssound.realtime.runtime.server.RealtimeServer;
import java.net.InetAddress;
import java.time.Clock;
import java.util.Map;

/**
 * The runtime with its conformance echo on, for the Autobahn|Testsuite's fuzzing client that
 * {@code autobahntestsuite-maven-plugin} runs in {@code verify}: {@code main(port)} starts it and returns. The plugin
 * connects to this host's name at that port, so the name must resolve to a loopback address (tests stay on
 * loopback); the reason is said when it does not.
 */
public final class AutobahnEchoServer {
  private AutobahnEchoServer() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    InetAddress host = InetAddress.getLocalHost();
    if (!host.isLoopbackAddress()) {
      throw new IllegalStateException("The Autobahn run connects to this host's name, which resolves to "
          + host.getHostAddress() + ", not to a loopback address; add '127.0.0.1 " + host.getHostName()
          + "' to /etc/hosts");
    }
    RuntimeConfig config = RuntimeConfig.fromEnv(Map.of(
        "REALTIME_HOST", host.getHostAddress(),
        "REALTIME_PORT", String.valueOf(port),
        "REALTIME_DB_URL", "none")).withJwtSecret("the-conformance-echo-checks-no-token-000");
    new RealtimeServer(config, Clock.systemUTC()).withConformanceEcho().start();
  }
}
