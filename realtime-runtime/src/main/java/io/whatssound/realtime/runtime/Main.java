package io.whatssound.realtime.runtime;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.whatssound.realtime.postgres.RuntimeEnv;
import io.whatssound.realtime.runtime.cluster.ClusterSettings;
import io.whatssound.realtime.runtime.config.RuntimeConfig;
import io.whatssound.realtime.runtime.server.RealtimeServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/** Starts the runtime from environment variables; SIGTERM/SIGINT drain the clients and exit 0. */
public final class Main {
  private static final Logger LOG = LoggerFactory.getLogger(Main.class);
  /** Where Kubernetes reads a container's termination message unless its spec says otherwise. */
  static final String DEFAULT_TERMINATION_MESSAGE = "/dev/termination-log";

  private Main() {}

  public static void main(String[] args) throws Exception {
    RuntimeConfig config;
    ClusterSettings cluster;
    try {
      config = RuntimeConfig.fromEnv(System.getenv());
      cluster = ClusterSettings.fromEnv(System.getenv(), "realtime-" + config.database().contract().slot());
    } catch (RuntimeConfig.ConfigException e) {
      System.err.println("Invalid configuration: " + e.getMessage());
      System.exit(2);
      return;
    }
    Clock clock = Clock.systemUTC();
    if (config.jwtSecret().isEmpty() && config.jwks().isEmpty()) {
      config = config.withJwtSecret(generateSecret());
      printStandaloneKeys(config.jwtSecret().orElseThrow(), clock);
    }
    RealtimeServer server;
    try {
      server = new RealtimeServer(config, cluster, clock).start();
    } catch (IllegalArgumentException | IllegalStateException | IOException e) {
      System.err.println("Could not start: " + e.getMessage());
      System.exit(2);
      return;
    }
    Duration drain = config.shutdownDrain();
    Path terminationMessage = Path.of(System.getenv().getOrDefault(RuntimeEnv.REALTIME_TERMINATION_MESSAGE_PATH,
        DEFAULT_TERMINATION_MESSAGE));
    CountDownLatch stopped = new CountDownLatch(1);
    Runnable stop =
        () -> {
          try {
            writeTerminationMessage(terminationMessage, server.shutdown(drain).line());
          } catch (RuntimeException | Error e) {
            LOG.error("Shutdown did not complete; exiting anyway", e);
          } finally {
            stopped.countDown();
          }
        };
    for (String sig : new String[] {"TERM", "INT"}) {
      Signal.handle(new Signal(sig), s -> new Thread(stop, "shutdown").start());
    }
    stopped.await();
    System.exit(0);
  }

  /**
   * The drain's summary as the container's termination message, which Kubernetes keeps in the pod's last status and the
   * operator reads to count drains that overran their window. Written only where the file exists (the kubelet creates
   * it in every container); elsewhere the log line of the shutdown says the same.
   */
  private static void writeTerminationMessage(Path path, String line) {
    if (!Files.isRegularFile(path)) {
      return;
    }
    try {
      Files.writeString(path, line + "\n", StandardCharsets.UTF_8);
    } catch (IOException e) {
      LOG.warn("Could not write the termination message to {}: {}", path, e.getMessage());
    }
  }

  private static String generateSecret() {
    byte[] b = new byte[32];
    new SecureRandom().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** Standalone mode: a generated secret and ready-made keys so a newcomer can connect at once. */
  private static void printStandaloneKeys(String secret, Clock clock) throws JOSEException {
    Instant exp = clock.instant().plus(Duration.ofDays(3650));
    String anon = sign(secret, "anon", exp);
    String service = sign(secret, "service_role", exp);
    System.out.println(
        String.join(
            "\n",
            "",
            "No REALTIME_JWT_SECRET was set: generated one for this run (standalone mode).",
            "  REALTIME_JWT_SECRET=" + secret,
            "  anon key:         " + anon,
            "  service_role key: " + service,
            "Connect with createClient('http://localhost:<port>', '<anon key>').",
            ""));
    LOG.info("Standalone mode: generated a JWT secret and printed an anon and a service_role key");
  }

  static String sign(String secret, String role, Instant exp) throws JOSEException {
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader(JWSAlgorithm.HS256),
            new JWTClaimsSet.Builder()
                .claim("role", role)
                .issuer("whatssound-realtime")
                .issueTime(new Date())
                .expirationTime(Date.from(exp))
                .build());
    jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
    return jwt.serialize();
  }
}
