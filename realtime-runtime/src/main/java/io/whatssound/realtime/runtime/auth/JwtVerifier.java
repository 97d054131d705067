package io.whatssound.realtime.runtime.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Optional;

/**
 * Verifies Supabase-style JWTs: HS256/384/512 with the tenant secret, RS256/ES256 with keys of a JWKS.
 * Never blocks: JWKS keys come from the in-memory {@link JwksKeys}.
 */
public final class JwtVerifier {
  public static final String MISSING = "API key is missing";
  public static final String EXPIRED = "Token has expired";
  public static final String REQUIRED_FIELDS = "Fields `role` and `exp` are required in JWT";
  public static final String MALFORMED = "The token provided is not a valid JWT";
  public static final String BAD_SIGNATURE = "Failed to validate JWT signature";
  /**
   * A token whose {@code nbf} is still ahead (RFC 7519 §4.1.5). Supabase does not check {@code nbf}, so it has no text
   * for this; the refusal is named like its others.
   */
  public static final String NOT_YET_VALID = "Token is not valid yet";
  /** How far an issuer's clock may run ahead of this server's before its {@code nbf} refuses a token. */
  public static final Duration NOT_BEFORE_LEEWAY = Duration.ofSeconds(30);

  private final Optional<MACVerifier> macVerifier;
  private final Optional<JwksKeys> jwks;
  private final Clock clock;

  public JwtVerifier(Optional<String> secret, Optional<JwksKeys> jwks, Clock clock) {
    this.macVerifier = secret.map(JwtVerifier::macVerifier);
    this.jwks = jwks;
    this.clock = clock;
  }

  private static MACVerifier macVerifier(String secret) {
    try {
      return new MACVerifier(secret.getBytes(StandardCharsets.UTF_8));
    } catch (JOSEException e) {
      throw new IllegalArgumentException(
          "REALTIME_JWT_SECRET must be at least 32 characters (256 bits) for HS256", e);
    }
  }

  /** Verifies a token and returns its claims, or throws with the message to send to the client. */
  public VerifiedToken verify(String token) throws TokenRejected {
    if (token == null || token.isBlank()) {
      throw new TokenRejected(MISSING, false);
    }
    SignedJWT jwt;
    JWTClaimsSet claims;
    try {
      jwt = SignedJWT.parse(token.trim());
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      throw new TokenRejected(MALFORMED, false);
    }
    // the parser replaces bytes that are not UTF-8; a claim read that way is not the claim that was signed
    if (!utf8(jwt.getHeader().getParsedBase64URL()) || !utf8(jwt.getPayload().toBase64URL())) {
      throw new TokenRejected(MALFORMED, false);
    }
    if (!signatureValid(jwt)) {
      throw new TokenRejected(BAD_SIGNATURE, false);
    }
    Object role = claims.getClaim("role");
    Date exp = claims.getExpirationTime();
    if (!(role instanceof String r) || r.isBlank() || exp == null) {
      throw new TokenRejected(REQUIRED_FIELDS, false);
    }
    Instant expiresAt = exp.toInstant();
    if (!expiresAt.isAfter(clock.instant())) {
      throw new TokenRejected(EXPIRED, true);
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && nbf.toInstant().isAfter(clock.instant().plus(NOT_BEFORE_LEEWAY))) {
      throw new TokenRejected(NOT_YET_VALID, false);
    }
    // as signed: numeric dates stay seconds
    return new VerifiedToken(token.trim(), r, expiresAt, claims.toJSONObject());
  }

  /** The Supabase wording of an expiry seen on a channel: "Token has expired N seconds ago". */
  public String expiredAgo(Instant expiresAt) {
    long seconds = Math.max(0, Duration.between(expiresAt, clock.instant()).toSeconds());
    return EXPIRED + " " + seconds + " seconds ago";
  }

  /** Expiry of a token without verifying it, for messages about an expired token. */
  public static Optional<Instant> unverifiedExpiry(String token) {
    try {
      return Optional.ofNullable(SignedJWT.parse(token.trim()).getJWTClaimsSet().getExpirationTime())
          .map(Date::toInstant);
    } catch (ParseException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static boolean utf8(Base64URL part) {
    try {
      StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(part.decode()));
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }

  private boolean signatureValid(SignedJWT jwt) {
    JWSHeader header = jwt.getHeader();
    JWSAlgorithm alg = header.getAlgorithm();
    try {
      JWSVerifier verifier;
      if (JWSAlgorithm.Family.HMAC_SHA.contains(alg)) {
        if (macVerifier.isEmpty()) {
          return false;
        }
        verifier = macVerifier.get();
      } else {
        Optional<JWK> key = jwks.flatMap(k -> k.find(header.getKeyID(), alg));
        if (key.isEmpty()) {
          return false;
        }
        verifier = verifierFor(key.get());
      }
      return verifier != null && jwt.verify(verifier);
    } catch (JOSEException | IllegalStateException e) {
      return false;
    }
  }

  private static JWSVerifier verifierFor(JWK key) throws JOSEException {
    if (key instanceof RSAKey rsa) {
      return new RSASSAVerifier(rsa);
    }
    if (key instanceof ECKey ec) {
      return new ECDSAVerifier(ec);
    }
    return null;
  }
}
