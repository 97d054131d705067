package io.whatssound.realtime.runtime.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The public keys of a JWKS, held in memory so that verification never waits on the network. A JWKS
 * given inline is fixed; a JWKS URL is fetched at start and again in the background when a token names
 * a key id that is not known yet (key rotation), at most once per {@link #MIN_REFRESH}.
 */
public final class JwksKeys {
  private static final Logger LOG = LoggerFactory.getLogger(JwksKeys.class);
  static final Duration MIN_REFRESH = Duration.ofSeconds(30);

  private final Optional<URI> url;
  private final Executor refresher;
  private final Clock clock;
  private final AtomicBoolean refreshing = new AtomicBoolean();
  private volatile JWKSet keys;
  private volatile Instant lastRefresh = Instant.EPOCH;

  private JwksKeys(Optional<URI> url, JWKSet keys, Executor refresher, Clock clock) {
    this.url = url;
    this.keys = keys;
    this.refresher = refresher;
    this.clock = clock;
  }

  /** A JWKS from inline JSON (starts with '{') or from a URL fetched now. */
  public static JwksKeys from(String value, Executor refresher, Clock clock) {
    String v = value.trim();
    if (v.startsWith("{")) {
      try {
        return new JwksKeys(Optional.empty(), JWKSet.parse(v), refresher, clock);
      } catch (ParseException e) {
        throw new IllegalArgumentException(
            "REALTIME_JWT_JWKS is not a valid JWKS JSON document: " + e.getMessage(), e);
      }
    }
    URI uri;
    try {
      uri = URI.create(v);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("REALTIME_JWT_JWKS must be a JWKS URL or JSON document", e);
    }
    JwksKeys k = new JwksKeys(Optional.of(uri), new JWKSet(), refresher, clock);
    k.refreshNow();
    return k;
  }

  Optional<JWK> find(String kid, JWSAlgorithm alg) {
    Optional<JWK> found = match(keys, kid, alg);
    if (found.isEmpty() && url.isPresent()) {
      refreshInBackground();
    }
    return found;
  }

  private static Optional<JWK> match(JWKSet set, String kid, JWSAlgorithm alg) {
    return set.getKeys().stream()
        .filter(k -> kid == null || kid.equals(k.getKeyID()))
        .filter(k -> k.getKeyUse() == null || KeyUse.SIGNATURE.equals(k.getKeyUse()))
        .filter(k -> k.getAlgorithm() == null || k.getAlgorithm().equals(alg))
        .filter(k -> JWSAlgorithm.Family.RSA.contains(alg) ? k instanceof RSAKey : k instanceof ECKey)
        .findFirst();
  }

  private void refreshInBackground() {
    Instant now = clock.instant();
    if (now.isBefore(lastRefresh.plus(MIN_REFRESH)) || !refreshing.compareAndSet(false, true)) {
      return;
    }
    refresher.execute(
        () -> {
          try {
            refreshNow();
          } finally {
            refreshing.set(false);
          }
        });
  }

  private void refreshNow() {
    lastRefresh = clock.instant();
    URI uri = url.orElseThrow();
    try {
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      HttpResponse<String> res =
          client.send(
              HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      if (res.statusCode() != 200) {
        LOG.warn("JWKS {} answered HTTP {}; keeping the {} keys already known", uri, res.statusCode(), keys.size());
        return;
      }
      keys = JWKSet.parse(res.body());
      LOG.info("Loaded {} keys from JWKS {}", keys.size(), uri);
    } catch (IOException | ParseException e) {
      LOG.warn("Could not load JWKS {}: {}; keeping the {} keys already known", uri, e.getMessage(), keys.size());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
