package io.whatssound.realtime.operator.model;

import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/** Stable short hashes of desired state. */
public final class Hashing {
  private Hashing() {}

  public static String of(String text) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A hash of a map independent of its iteration order. */
  public static String ofMap(Map<String, String> m) {
    StringBuilder b = new StringBuilder();
    new TreeMap<>(m).forEach((k, v) -> b.append(k).append('\u0000').append(v).append('\u0001'));
    return of(b.toString());
  }

  /** A hash of an object's JSON form (fields in declaration order, maps as given: build them sorted). */
  public static String ofJson(Object o) {
    return of(Serialization.asJson(o));
  }
}
