package io.whatssound.realtime.runtime.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URLDecoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RuntimeConfigTest {

  @Test
  void defaultsAreSupabases() {
    RuntimeConfig c = RuntimeConfig.fromEnv(Map.of());
    assertEquals(4000, c.port());
    assertEquals(TenantLimits.SUPABASE_DEFAULTS, c.limits());
    assertEquals(Duration.ofSeconds(5), c.joinErrorDelay());
    assertTrue(c.maxFrameBytes() >= RuntimeConfig.MIN_FRAME_BYTES);
    assertTrue(c.maxFrameBytes() > c.limits().maxPayloadBytes());
    assertTrue(c.jwtSecret().isEmpty());
    assertEquals(Set.of("authenticated", "service_role"), c.privateRoles());
  }

  @Test
  void readsEveryKnob() {
    RuntimeConfig c =
        RuntimeConfig.fromEnv(
            Map.of(
                "REALTIME_PORT", "4100",
                "REALTIME_MAX_CONCURRENT_USERS", "7",
                "REALTIME_MAX_EVENTS_PER_SECOND", "8",
                "REALTIME_MAX_JOINS_PER_SECOND", "9",
                "REALTIME_MAX_CHANNELS_PER_CLIENT", "10",
                "REALTIME_MAX_PAYLOAD_KB", "11",
                "REALTIME_MAX_PRESENCE_CALLS", "12",
                "REALTIME_JOIN_ERROR_DELAY_MS", "0",
                "REALTIME_PRIVATE_ROLES", "authenticated, admin"));
    assertEquals(4100, c.port());
    assertEquals(new TenantLimits(7, 8, 9, 10, 11 * 1024, 12, Duration.ofSeconds(30)), c.limits());
    assertEquals(Duration.ZERO, c.joinErrorDelay());
    assertEquals(Set.of("authenticated", "admin"), c.privateRoles());
  }

  @Test
  void badValuesNameTheVariable() {
    var e = assertThrows(RuntimeConfig.ConfigException.class,
        () -> RuntimeConfig.fromEnv(Map.of("REALTIME_MAX_EVENTS_PER_SECOND", "lots")));
    assertTrue(e.getMessage().contains("REALTIME_MAX_EVENTS_PER_SECOND"), e.getMessage());
    e = assertThrows(RuntimeConfig.ConfigException.class,
        () -> RuntimeConfig.fromEnv(Map.of("REALTIME_MAX_JOINS_PER_SECOND", "0")));
    assertTrue(e.getMessage().contains("at least 1"), e.getMessage());
    e = assertThrows(RuntimeConfig.ConfigException.class, () -> RuntimeConfig.fromEnv(Map.of("REALTIME_PORT", "70000")));
    assertTrue(e.getMessage().contains("REALTIME_PORT"), e.getMessage());
  }

  @Test
  void aDatabaseCaVerifiesTheDirectAndThePooledUrl() throws Exception {
    String pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    RuntimeConfig c = RuntimeConfig.fromEnv(Map.of(
        "REALTIME_DB_URL", "postgres://rt:pw@db.example:5432/app?sslmode=verify-full",
        "REALTIME_DB_POOL_URL", "postgres://rt:pw@pooler:5432/app?sslmode=disable",
        "REALTIME_DB_CA", pem));
    String direct = c.database().url().orElseThrow().jdbcUrl();
    assertTrue(direct.startsWith("jdbc:postgresql://db.example:5432/app?sslmode=verify-full&sslrootcert="), direct);
    String file = URLDecoder.decode(direct.substring(direct.indexOf("sslrootcert=") + 12), "UTF-8");
    assertEquals(pem.strip(), Files.readString(Path.of(file)).strip());
    assertTrue(c.database().poolUrl().orElseThrow().jdbcUrl().contains("sslrootcert="));
    RuntimeConfig own = RuntimeConfig.fromEnv(Map.of(
        "REALTIME_DB_URL", "postgres://rt:pw@db.example:5432/app?sslmode=verify-full",
        "REALTIME_DB_POOL_URL", "postgres://rt:pw@pooler:5432/app?sslmode=verify-full",
        "REALTIME_DB_CA", pem, "REALTIME_DB_POOL_CA", pem.replace("MIIB", "MIIC")));
    assertTrue(rootCert(own.database().poolUrl().orElseThrow().jdbcUrl()).contains("MIIC"), "the pooler's own CA");
    assertTrue(rootCert(own.database().url().orElseThrow().jdbcUrl()).contains("MIIB"), "the database's CA");
    RuntimeConfig.ConfigException e = assertThrows(RuntimeConfig.ConfigException.class, () -> RuntimeConfig.fromEnv(
        Map.of("REALTIME_DB_URL", "postgres://rt:pw@db.example/app", "REALTIME_DB_CA", "not a certificate")));
    assertTrue(e.getMessage().startsWith("REALTIME_DB_CA: "), e.getMessage());
  }

  @Test
  void transportIsAutoUnlessNamedAndABadNameStopsTheStart() {
    assertEquals("auto", RuntimeConfig.fromEnv(Map.of()).transport());
    assertEquals("io_uring", RuntimeConfig.fromEnv(Map.of("REALTIME_TRANSPORT", "io_uring")).transport());
    var e = assertThrows(RuntimeConfig.ConfigException.class,
        () -> RuntimeConfig.fromEnv(Map.of("REALTIME_TRANSPORT", "kqueue")));
    assertEquals("REALTIME_TRANSPORT must be auto, io_uring, epoll or nio, got 'kqueue'", e.getMessage());
  }

  /** The PEM of the {@code sslrootcert} file a JDBC URL names. */
  private static String rootCert(String jdbcUrl) throws Exception {
    String file = URLDecoder.decode(jdbcUrl.substring(jdbcUrl.indexOf("sslrootcert=") + 12), "UTF-8");
    return Files.readString(Path.of(file));
  }
}
