package io.whatssound.realtime.bench;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.Map;

/** Signs Supabase-style HS256 tokens ({@code role}, {@code exp}) with the runtime's secret. */
final class Tokens {
  private final MACSigner signer;

  Tokens(String secret) {
    if (secret == null || secret.length() < 32) {
      throw new IllegalArgumentException(
          "--secret must be the runtime's REALTIME_JWT_SECRET (at least 32 characters)");
    }
    try {
      signer = new MACSigner(secret.getBytes(StandardCharsets.UTF_8));
    } catch (JOSEException e) {
      throw new IllegalArgumentException("--secret is not usable for HS256: " + e.getMessage(), e);
    }
  }

  /** A token for {@code role} valid for a day. */
  String sign(String role) {
    return sign(role, Map.of());
  }

  /**
   * A token for {@code role} valid for a day, carrying {@code claims} as extra top-level claims (for
   * policies that read {@code auth.jwt() ->> 'name'}); {@code role}, {@code iss} and {@code exp} win over
   * claims of the same name.
   */
  String sign(String role, Map<String, ?> claims) {
    JWTClaimsSet.Builder builder = new JWTClaimsSet.Builder();
    for (var e : claims.entrySet()) {
      builder.claim(e.getKey(), e.getValue());
    }
    builder.claim("role", role)
        .issuer("realtime-bench")
        .expirationTime(Date.from(Instant.now().plusSeconds(86_400)));
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), builder.build());
    try {
      jwt.sign(signer);
    } catch (JOSEException e) {
      throw new IllegalStateException("Could not sign a token: " + e.getMessage(), e);
    }
    return jwt.serialize();
  }
}
