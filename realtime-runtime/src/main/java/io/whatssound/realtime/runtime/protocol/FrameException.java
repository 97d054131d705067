package io.whatssound.realtime.runtime.protocol;

/** A frame the codec cannot read; the socket stays open and the frame is ignored. */
public final class FrameException extends Exception {
  private final String reason;

  public FrameException(String reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  /** A short label for metrics, e.g. {@code bad_json}. */
  public String reason() {
    return reason;
  }
}
