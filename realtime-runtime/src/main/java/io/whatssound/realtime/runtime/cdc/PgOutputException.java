package io.whatssound.realtime.runtime.cdc;

/**
 * A {@code pgoutput} message that cannot be decoded: an unknown or unsupported message type, or bytes
 * that do not follow the documented layout. The message names the message type and what was wrong.
 */
public final class PgOutputException extends Exception {
  private static final long serialVersionUID = 1L;

  public PgOutputException(String message) {
    super(message);
  }
}
