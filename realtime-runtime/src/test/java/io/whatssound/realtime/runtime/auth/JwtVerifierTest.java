package io.whatssound.realtime.runtime.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.whatssound.realtime.postgres.TestClock;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class JwtVerifierTest {
  static final String SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));

  static String token(JWSSigner signer, JWSAlgorithm alg, String kid, JWTClaimsSet claims) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(kid).type(JOSEObjectType.JWT).build(), claims);
    jwt.sign(signer);
    return jwt.serialize();
  }

  private JWTClaimsSet claims(String role, Instant exp) {
    JWTClaimsSet.Builder b = new JWTClaimsSet.Builder().subject("user-1").claim("email", "a@b.c");
    if (role != null) {
      b.claim("role", role);
    }
    if (exp != null) {
      b.expirationTime(Date.from(exp));
    }
    return b.build();
  }

  private String hs(String role, Instant exp) throws Exception {
    return token(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)), JWSAlgorithm.HS256, null, claims(role, exp));
  }

  private JwtVerifier secretOnly() {
    return new JwtVerifier(Optional.of(SECRET), Optional.empty(), clock);
  }

  @Test
  void acceptsAValidHs256TokenWithItsClaims() throws Exception {
    VerifiedToken t = secretOnly().verify(hs("authenticated", clock.instant().plusSeconds(60)));
    assertEquals("authenticated", t.role());
    assertEquals("user-1", t.claims().get("sub"));
    assertEquals("a@b.c", t.claims().get("email"));
  }

  @Test
  void rejectsWithSupabaseMessages() throws Exception {
    JwtVerifier v = secretOnly();
    assertEquals(JwtVerifier.MISSING, assertThrows(TokenRejected.class, () -> v.verify(null)).getMessage());
    assertEquals(JwtVerifier.MISSING, assertThrows(TokenRejected.class, () -> v.verify(" ")).getMessage());
    assertEquals(JwtVerifier.MALFORMED, assertThrows(TokenRejected.class, () -> v.verify("abc.def")).getMessage());
    assertEquals(JwtVerifier.REQUIRED_FIELDS,
        assertThrows(TokenRejected.class, () -> v.verify(hs(null, clock.instant().plusSeconds(60)))).getMessage());
    assertEquals(JwtVerifier.REQUIRED_FIELDS,
        assertThrows(TokenRejected.class, () -> v.verify(hs("anon", null))).getMessage());
    TokenRejected expired =
        assertThrows(TokenRejected.class, () -> v.verify(hs("anon", clock.instant().minusSeconds(1))));
    assertEquals(JwtVerifier.EXPIRED, expired.getMessage());
    assertTrue(expired.expired());
    String other =
        token(new MACSigner("another-secret-that-is-at-least-32-chars!!".getBytes(StandardCharsets.UTF_8)),
            JWSAlgorithm.HS256, null, claims("anon", clock.instant().plusSeconds(60)));
    assertEquals(JwtVerifier.BAD_SIGNATURE, assertThrows(TokenRejected.class, () -> v.verify(other)).getMessage());
  }

  @Test
  void aTokenNotValidYetIsRefusedBeyondTheLeeway() throws Exception {
    JwtVerifier v = secretOnly();
    MACSigner signer = new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8));
    Instant exp = clock.instant().plusSeconds(3600);
    String ahead = token(signer, JWSAlgorithm.HS256, null, new JWTClaimsSet.Builder(claims("anon", exp))
        .notBeforeTime(Date.from(clock.instant().plus(JwtVerifier.NOT_BEFORE_LEEWAY).plusSeconds(1))).build());
    TokenRejected refused = assertThrows(TokenRejected.class, () -> v.verify(ahead));
    assertEquals(JwtVerifier.NOT_YET_VALID, refused.getMessage());
    assertEquals("InvalidJWTToken", refused.joinCode());
    String skewed = token(signer, JWSAlgorithm.HS256, null, new JWTClaimsSet.Builder(claims("anon", exp))
        .notBeforeTime(Date.from(clock.instant().plus(JwtVerifier.NOT_BEFORE_LEEWAY))).build());
    assertEquals("anon", v.verify(skewed).role());
    clock.advance(Duration.ofSeconds(2));
    assertEquals("anon", v.verify(ahead).role());
  }

  @Test
  void expiryIsReadFromTheInjectedClock() throws Exception {
    String t = hs("anon", clock.instant().plusSeconds(10));
    JwtVerifier v = secretOnly();
    v.verify(t);
    clock.advance(Duration.ofSeconds(10));
    assertThrows(TokenRejected.class, () -> v.verify(t));
    clock.advance(Duration.ofSeconds(5));
    assertEquals("Token has expired 5 seconds ago", v.expiredAgo(JwtVerifier.unverifiedExpiry(t).orElseThrow()));
  }

  @Test
  void verifiesRs256AndEs256FromAJwksByKeyId() throws Exception {
    RSAKey rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
    String jwks = new JWKSet(List.of(rsa.toPublicJWK(), ec.toPublicJWK())).toString();
    JwtVerifier v =
        new JwtVerifier(Optional.empty(), Optional.of(JwksKeys.from(jwks, Runnable::run, clock)), clock);
    Instant exp = clock.instant().plusSeconds(60);
    assertEquals("authenticated",
        v.verify(token(new RSASSASigner(rsa), JWSAlgorithm.RS256, "rsa-1", claims("authenticated", exp))).role());
    assertEquals("anon", v.verify(token(new ECDSASigner(ec), JWSAlgorithm.ES256, "ec-1", claims("anon", exp))).role());

    RSAKey unknown = new RSAKeyGenerator(2048).keyID("rsa-2").generate();
    String rotated = token(new RSASSASigner(unknown), JWSAlgorithm.RS256, "rsa-2", claims("anon", exp));
    assertEquals(JwtVerifier.BAD_SIGNATURE, assertThrows(TokenRejected.class, () -> v.verify(rotated)).getMessage());
    assertEquals(JwtVerifier.BAD_SIGNATURE,
        assertThrows(TokenRejected.class, () -> v.verify(hs("anon", exp))).getMessage(),
        "HS256 is refused when no secret is configured");
  }

  @Test
  void aShortSecretIsAConfigurationError() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new JwtVerifier(Optional.of("short"), Optional.empty(), clock));
    assertTrue(e.getMessage().contains("REALTIME_JWT_SECRET"));
  }
}
