package io.whatssound.realtime.runtime.config;

import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseCa;
import io.whatssound.realtime.postgres.DatabaseUrl;
import io.whatssound.realtime.postgres.RuntimeEnv;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Everything the runtime reads from its environment, parsed and validated once at start.
 *
 * @param host              address to bind
 * @param port              HTTP/WebSocket port
 * @param jwtSecret         HS256 secret, absent when only a JWKS is used (or in standalone mode before one is generated)
 * @param jwks              a JWKS URL or inline JWKS JSON
 * @param limits            tenant limits
 * @param joinErrorDelay    how long an error reply to a join waits (damps reconnect storms)
 * @param idleTimeout       a socket that sends nothing for this long is closed
 * @param shutdownDrain     the longest a graceful shutdown waits for clients to leave
 * @param maxFrameBytes     largest WebSocket message accepted
 * @param privateRoles      JWT roles allowed on private channels until database authorization decides
 * @param slowConsumerDrops messages dropped in a row for a socket that does not read before it is disconnected
 * @param database          the database for Postgres Changes, database broadcasts and replay
 * @param privateOnly       refuse public channels
 * @param metricsPort       a port of its own for {@code /metrics} (and the probes), which the public port then no
 *                          longer serves; empty: {@code /metrics} on the public port
 * @param history           broadcast history, replay and latest values
 * @param transport         the event loops' socket transport: auto, io_uring, epoll or nio (server.Transport)
 */
public record RuntimeConfig(
    String host,
    int port,
    Optional<String> jwtSecret,
    Optional<String> jwks,
    TenantLimits limits,
    Duration joinErrorDelay,
    Duration idleTimeout,
    Duration shutdownDrain,
    int maxFrameBytes,
    Set<String> privateRoles,
    int slowConsumerDrops,
    DatabaseSettings database,
    boolean privateOnly,
    Optional<Integer> metricsPort,
    HistorySettings history,
    String transport) {

  public static final int MIN_FRAME_BYTES = 3 * 1024 * 1024;

  /** Reads the configuration from environment variables; throws {@link ConfigException} naming the bad variable. */
  public static RuntimeConfig fromEnv(Map<String, String> env) {
    Reader r = new Reader(env);
    TenantLimits d = TenantLimits.SUPABASE_DEFAULTS;
    TenantLimits limits =
        r.wrap(
            () ->
                new TenantLimits(
                    r.integer(RuntimeEnv.REALTIME_MAX_CONCURRENT_USERS, d.maxConcurrentUsers()),
                    r.integer(RuntimeEnv.REALTIME_MAX_EVENTS_PER_SECOND, d.maxEventsPerSecond()),
                    r.integer(RuntimeEnv.REALTIME_MAX_JOINS_PER_SECOND, d.maxJoinsPerSecond()),
                    r.integer(RuntimeEnv.REALTIME_MAX_CHANNELS_PER_CLIENT, d.maxChannelsPerClient()),
                    r.integer(RuntimeEnv.REALTIME_MAX_PAYLOAD_KB, d.maxPayloadBytes() / 1024) * 1024,
                    r.integer(RuntimeEnv.REALTIME_MAX_PRESENCE_CALLS, d.maxPresenceCalls()),
                    Duration.ofSeconds(
                        r.integer(RuntimeEnv.REALTIME_PRESENCE_WINDOW_SECONDS, (int) d.presenceWindow().toSeconds()))));
    int frame = Math.max(MIN_FRAME_BYTES, limits.maxPayloadBytes() + 64 * 1024);
    return new RuntimeConfig(
        r.string(RuntimeEnv.REALTIME_HOST).orElse("0.0.0.0"),
        r.port(RuntimeEnv.REALTIME_PORT, 4000),
        r.string(RuntimeEnv.REALTIME_JWT_SECRET),
        r.string(RuntimeEnv.REALTIME_JWT_JWKS),
        limits,
        Duration.ofMillis(r.integer(RuntimeEnv.REALTIME_JOIN_ERROR_DELAY_MS, 5000, 0)),
        Duration.ofMillis(r.integer(RuntimeEnv.REALTIME_IDLE_TIMEOUT_MS, 60_000)),
        Duration.ofMillis(r.integer(RuntimeEnv.REALTIME_SHUTDOWN_DRAIN_MS, 10_000, 0)),
        frame,
        r.string(RuntimeEnv.REALTIME_PRIVATE_ROLES)
            .map(v -> Set.copyOf(csv(v)))
            .orElse(Set.of("authenticated", "service_role")),
        r.integer(RuntimeEnv.REALTIME_SLOW_CONSUMER_DROPS, 1000),
        database(r),
        r.bool(RuntimeEnv.REALTIME_PRIVATE_ONLY, false),
        r.string(RuntimeEnv.REALTIME_METRICS_PORT).map(v -> r.port(RuntimeEnv.REALTIME_METRICS_PORT, 0)),
        history(r),
        transport(r));
  }

  private static String transport(Reader r) {
    String t = r.string(RuntimeEnv.REALTIME_TRANSPORT).orElse("auto");
    if (!List.of("auto", "io_uring", "epoll", "nio").contains(t)) {
      throw new ConfigException(
          RuntimeEnv.REALTIME_TRANSPORT + " must be auto, io_uring, epoll or nio, got '" + t + "'");
    }
    return t;
  }

  private static HistorySettings history(Reader r) {
    HistorySettings d = HistorySettings.off();
    return r.wrap(
        () -> new HistorySettings(
            r.string(RuntimeEnv.REALTIME_HISTORY_TOPICS).map(RuntimeConfig::csv).orElse(d.topics()),
            Duration.ofHours(r.integer(RuntimeEnv.REALTIME_HISTORY_RETENTION_HOURS, (int) d.retention().toHours())),
            Duration.ofMillis(r.integer(RuntimeEnv.REALTIME_HISTORY_BATCH_MS, (int) d.batchInterval().toMillis(), 10)),
            r.integer(RuntimeEnv.REALTIME_REPLAY_MAX, d.replayMax()),
            r.string(RuntimeEnv.REALTIME_LATEST_EVENTS).map(v -> Set.copyOf(csv(v)))
                .orElse(d.latestEvents())));
  }

  private static DatabaseSettings database(Reader r) {
    Optional<String> url = r.string(RuntimeEnv.REALTIME_DB_URL);
    ContractSettings contract =
        r.wrap(
            () ->
                ContractSettings.defaults()
                    .withNames(
                        r.string(RuntimeEnv.REALTIME_PUBLICATION).orElse(ContractSettings.DEFAULT_PUBLICATION),
                        r.string(RuntimeEnv.REALTIME_SLOT).orElse(ContractSettings.DEFAULT_SLOT)));
    int embeddedPort = r.port(RuntimeEnv.REALTIME_EMBEDDED_DB_PORT, 54322);
    if (url.isPresent() && url.get().equalsIgnoreCase("none")) {
      return DatabaseSettings.none();
    }
    if (url.isEmpty()) {
      return new DatabaseSettings(DatabaseSettings.Mode.EMBEDDED, Optional.empty(), Optional.empty(), true, contract,
          embeddedPort);
    }
    DatabaseUrl direct = r.dbUrl(RuntimeEnv.REALTIME_DB_URL, url.get());
    Optional<DatabaseUrl> pool = r.string(RuntimeEnv.REALTIME_DB_POOL_URL).map(v -> r.dbUrl(RuntimeEnv.REALTIME_DB_POOL_URL, v));
    Optional<Path> ca = caFile(r, RuntimeEnv.REALTIME_DB_CA);
    Optional<Path> poolCa = caFile(r, RuntimeEnv.REALTIME_DB_POOL_CA).or(() -> ca);
    if (ca.isPresent()) {
      direct = direct.withRootCert(ca.get());
    }
    if (poolCa.isPresent()) {
      pool = pool.map(p -> p.withRootCert(poolCa.get()));
    }
    boolean provision = r.bool(RuntimeEnv.REALTIME_DB_PROVISION, true);
    return new DatabaseSettings(DatabaseSettings.Mode.URL, Optional.of(direct), pool, provision, contract, embeddedPort);
  }

  /** The file holding the PEM CA certificates {@code name} gives, if it is set. */
  private static Optional<Path> caFile(Reader r, String name) {
    Optional<String> pem = r.string(name);
    if (pem.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(DatabaseCa.file(pem.get()));
    } catch (IllegalArgumentException | UncheckedIOException e) {
      throw new ConfigException(name + ": " + e.getMessage());
    }
  }

  public RuntimeConfig withJwtSecret(String secret) {
    return new RuntimeConfig(
        host, port, Optional.of(secret), jwks, limits, joinErrorDelay, idleTimeout, shutdownDrain,
        maxFrameBytes, privateRoles, slowConsumerDrops, database, privateOnly, metricsPort, history, transport);
  }

  public RuntimeConfig withDatabase(DatabaseSettings db) {
    return new RuntimeConfig(
        host, port, jwtSecret, jwks, limits, joinErrorDelay, idleTimeout, shutdownDrain,
        maxFrameBytes, privateRoles, slowConsumerDrops, db, privateOnly, metricsPort, history, transport);
  }

  /** Comma-separated values, trimmed, empties dropped, in order. */
  private static List<String> csv(String value) {
    return Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  /** A configuration value that cannot be used; the message names the variable and what it accepts. */
  public static final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
      super(message);
    }
  }

  private record Reader(Map<String, String> env) {
    Optional<String> string(String name) {
      return Optional.ofNullable(env.get(name)).map(String::trim).filter(s -> !s.isEmpty());
    }

    int integer(String name, int fallback) {
      return integer(name, fallback, 1);
    }

    int integer(String name, int fallback, int min) {
      return string(name).map(parse(name, min)).orElse(fallback);
    }

    boolean bool(String name, boolean fallback) {
      Optional<String> v = string(name);
      if (v.isEmpty()) {
        return fallback;
      }
      return switch (v.get().toLowerCase(Locale.ROOT)) {
        case "true", "1", "yes" -> true;
        case "false", "0", "no" -> false;
        default -> throw new ConfigException(name + " must be true or false, got '" + v.get() + "'");
      };
    }

    DatabaseUrl dbUrl(String name, String value) {
      try {
        return DatabaseUrl.parse(value);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(name + " is not usable: " + e.getMessage());
      }
    }

    int port(String name, int fallback) {
      int p = integer(name, fallback, 0);
      if (p > 65535) {
        throw new ConfigException(name + " must be a TCP port between 0 and 65535, got " + p);
      }
      return p;
    }

    private static Function<String, Integer> parse(String name, int min) {
      return raw -> {
        int v;
        try {
          v = Integer.parseInt(raw);
        } catch (NumberFormatException e) {
          throw new ConfigException(name + " must be a whole number, got '" + raw + "'");
        }
        if (v < min) {
          throw new ConfigException(name + " must be at least " + min + ", got " + v);
        }
        return v;
      };
    }

    <T> T wrap(Supplier<T> s) {
      try {
        return s.get();
      } catch (IllegalArgumentException e) {
        throw new ConfigException(e.getMessage());
      }
    }
  }
}
