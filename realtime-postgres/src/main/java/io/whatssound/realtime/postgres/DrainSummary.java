package io.whatssound.realtime.postgres;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a runtime's graceful shutdown did with its client sockets, as one line: the runtime writes it as its container's
 * termination message, and the operator reads it from the pod's last status to count drains that overran their window.
 *
 * @param sockets      sockets open when the drain started
 * @param tookMillis   how long until the last one closed (or the window ended)
 * @param windowMillis the drain window ({@code REALTIME_SHUTDOWN_DRAIN_MS})
 * @param forced       sockets still open when the window ended, closed without waiting for their clients
 */
public record DrainSummary(int sockets, long tookMillis, long windowMillis, int forced) {
  /**
   * The share of its drain window over which a stopping runtime tells its sockets to go (the rest is for the slowest
   * clients): the operator sizes scale-down steps by the reconnect rate that makes.
   */
  public static final double PACED_SHARE = 0.8;

  private static final Pattern LINE =
      Pattern.compile("drain: (\\d+) sockets in (\\d+) ms of a (\\d+) ms window, (\\d+) closed at its end");

  /** Whether sockets were left when the window ended. */
  public boolean overran() {
    return forced > 0;
  }

  public String line() {
    return "drain: " + sockets + " sockets in " + tookMillis + " ms of a " + windowMillis + " ms window, " + forced
        + " closed at its end";
  }

  /** The summary in {@code text} (a termination message), if it holds one. */
  public static Optional<DrainSummary> parse(String text) {
    if (text == null) {
      return Optional.empty();
    }
    Matcher m = LINE.matcher(text);
    if (!m.find()) {
      return Optional.empty();
    }
    try {
      return Optional.of(new DrainSummary(Integer.parseInt(m.group(1)), Long.parseLong(m.group(2)),
          Long.parseLong(m.group(3)), Integer.parseInt(m.group(4))));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }
}
