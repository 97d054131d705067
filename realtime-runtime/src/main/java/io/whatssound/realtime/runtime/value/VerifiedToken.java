package io.whatssound.realtime.runtime.value;

import java.time.Instant;
import java.util.Map;

/**
 * A JWT whose signature and required claims were checked.
 *
 * @param raw       the compact token, kept to compare refreshes
 * @param role      the {@code role} claim
 * @param expiresAt the {@code exp} claim
 * @param claims    every verified claim, exactly as signed
 */
public record VerifiedToken(String raw, String role, Instant expiresAt, Map<String, Object> claims) {}
