package io.whatssound.realtime.runtime.value;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Microseconds since the epoch: the precision of PostgreSQL's {@code timestamp}, so a stored message's time survives
 * the database exactly and orders messages published within one millisecond.
 */
public final class EpochMicros {
  private static final DateTimeFormatter SQL = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

  private EpochMicros() {}

  public static long of(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1000);
  }

  public static Instant instant(long micros) {
    return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000L);
  }

  /** A UTC {@code timestamp} as PostgreSQL prints it ({@code 2026-01-02 03:04:05.678901}), fraction optional. */
  public static long parseSql(String timestamp) {
    return of(LocalDateTime.parse(timestamp.replace(' ', 'T')).toInstant(ZoneOffset.UTC));
  }

  /** As a UTC {@code timestamp} literal with all six fraction digits. */
  public static String sql(long micros) {
    return SQL.format(LocalDateTime.ofInstant(instant(micros), ZoneOffset.UTC));
  }

  /** Epoch milliseconds with the microseconds as a fraction, as clients see it ({@code meta.at}). */
  public static double millis(long micros) {
    return micros / 1000.0;
  }
}
