package io.whatssound.realtime.runtime.auth;

/** A token that cannot be used; the message is the exact text Supabase clients expect. */
public final class TokenRejected extends Exception {
  private final boolean expired;

  TokenRejected(String message, boolean expired) {
    super(message, null, false, false);
    this.expired = expired;
  }

  public boolean expired() {
    return expired;
  }

  /** The code a refused join names it by, as Supabase does: {@code MalformedJWT}, {@code JwtSignatureError} or {@code InvalidJWTToken}. */
  public String joinCode() {
    return switch (getMessage()) {
      case JwtVerifier.MALFORMED -> "MalformedJWT";
      case JwtVerifier.BAD_SIGNATURE -> "JwtSignatureError";
      default -> "InvalidJWTToken";
    };
  }
}
