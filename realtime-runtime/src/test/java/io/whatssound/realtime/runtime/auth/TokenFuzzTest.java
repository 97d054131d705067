package io.whatssound.realtime.runtime.auth;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whatssound.realtime.postgres.TestClock;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Tokens from anyone: the verifier accepts only what the tenant's secret signed with an HMAC algorithm and whose claims
 * have a role and an expiry still ahead; everything else is refused with one of Supabase's texts, which never repeat
 * the secret. The corpus replays in every build; {@code bench/fuzz.sh} fuzzes.
 */
class TokenFuzzTest {
  private static final String SECRET = "fuzzing-secret-of-at-least-thirty-two-characters";
  private static final TestClock CLOCK = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
  private static final JwtVerifier VERIFIER = new JwtVerifier(Optional.of(SECRET), Optional.empty(), CLOCK);
  private static final List<String> TEXTS = List.of(JwtVerifier.MISSING, JwtVerifier.MALFORMED,
      JwtVerifier.BAD_SIGNATURE, JwtVerifier.REQUIRED_FIELDS, JwtVerifier.EXPIRED, JwtVerifier.NOT_YET_VALID);
  private static final List<String> ALGS = List.of("HS256", "HS384", "HS512", "none", "RS256", "ES256");
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Any text as a token: nothing unsigned is accepted. */
  @FuzzTest(maxDuration = "60s")
  void anyTextIsRefusedWithASupabaseText(byte[] input) {
    String token = new String(input, StandardCharsets.UTF_8);
    try {
      VERIFIER.verify(token);
    } catch (TokenRejected e) {
      assertTrue(TEXTS.contains(e.getMessage()), e.getMessage());
      return;
    } finally {
      JwtVerifier.unverifiedExpiry(token);
    }
    throw new AssertionError("accepted a token nobody signed: " + token);
  }

  /**
   * Any claims under any algorithm, signed with the tenant's secret where the algorithm is an HMAC: first byte picks
   * the algorithm, the rest is the claims' bytes as they are.
   */
  @FuzzTest(maxDuration = "60s")
  void onlySignedTokensWithRoleAndExpiryAreAccepted(byte[] input) throws Exception {
    if (input.length == 0) {
      return;
    }
    String alg = ALGS.get(Math.floorMod(input[0], ALGS.size()));
    byte[] claims = Arrays.copyOfRange(input, 1, input.length);
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String header = "{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}";
    String signingInput =
        b64.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "." + b64.encodeToString(claims);
    String signature = "";
    if (alg.startsWith("HS")) {
      Mac mac = Mac.getInstance("Hmac" + "SHA" + alg.substring(2));
      mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), mac.getAlgorithm()));
      signature = b64.encodeToString(mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII)));
    } else if (!alg.equals("none")) {
      signature = b64.encodeToString("not a signature".getBytes(StandardCharsets.US_ASCII));
    }
    String token = signingInput + "." + signature;
    try {
      VERIFIER.verify(token);
    } catch (TokenRejected e) {
      assertTrue(TEXTS.contains(e.getMessage()), e.getMessage());
      assertFalse(e.getMessage().contains(SECRET));
      return;
    }
    assertTrue(alg.startsWith("HS"), "accepted only under the tenant's HMAC secret, not " + alg);
    JsonNode c = JSON.readTree(claims);
    assertTrue(c.path("role").isTextual() && !c.path("role").asText().isBlank(), "accepted with a role: " + c);
    assertTrue(c.path("exp").isNumber(), "accepted with an expiry: " + c);
    assertTrue(c.path("exp").asDouble() > CLOCK.instant().getEpochSecond(), "accepted before its expiry: " + c);
    assertTrue(!c.path("nbf").isNumber()
        || c.path("nbf").asDouble() <= CLOCK.instant().plus(JwtVerifier.NOT_BEFORE_LEEWAY).getEpochSecond(),
        "accepted once valid: " + c);
  }
}
