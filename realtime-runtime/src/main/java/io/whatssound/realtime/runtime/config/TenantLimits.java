package io.whatssound.realtime.runtime.config;

import java.time.Duration;

/**
 * The per-tenant limits the runtime enforces. Defaults are those of self-hosted Supabase Realtime.
 *
 * @param maxConcurrentUsers  sockets connected at once (handshake answers 429 above it)
 * @param maxEventsPerSecond  broadcasts accepted per second (WebSocket and REST together)
 * @param maxJoinsPerSecond   channel joins accepted per second
 * @param maxChannelsPerClient channels one socket may have joined at once
 * @param maxPayloadBytes     largest broadcast payload accepted
 * @param maxPresenceCalls    presence track/untrack calls one socket may make per {@code presenceWindow}
 * @param presenceWindow      the presence rate window
 */
public record TenantLimits(
    int maxConcurrentUsers,
    int maxEventsPerSecond,
    int maxJoinsPerSecond,
    int maxChannelsPerClient,
    int maxPayloadBytes,
    int maxPresenceCalls,
    Duration presenceWindow) {

  public static final TenantLimits SUPABASE_DEFAULTS =
      new TenantLimits(200, 100, 100, 100, 3000 * 1024, 5, Duration.ofSeconds(30));

  public TenantLimits {
    requirePositive("maxConcurrentUsers", maxConcurrentUsers);
    requirePositive("maxEventsPerSecond", maxEventsPerSecond);
    requirePositive("maxJoinsPerSecond", maxJoinsPerSecond);
    requirePositive("maxChannelsPerClient", maxChannelsPerClient);
    requirePositive("maxPayloadBytes", maxPayloadBytes);
    requirePositive("maxPresenceCalls", maxPresenceCalls);
    if (presenceWindow == null || presenceWindow.isNegative() || presenceWindow.isZero()) {
      throw new IllegalArgumentException("presenceWindow must be a positive duration");
    }
  }

  private static void requirePositive(String name, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be a positive number, got " + value);
    }
  }
}
