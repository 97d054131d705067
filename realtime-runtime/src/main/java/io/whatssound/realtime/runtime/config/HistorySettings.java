package io.whatssound.realtime.runtime.config;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which broadcasts are kept for replay and which events are latest values (PROTOCOL.md, "History, recovery and latest
 * values").
 *
 * @param topics        globs over topic names without {@code realtime:}; {@code *} matches any run of characters,
 *                      {@code :} included; empty: no history
 * @param retention     how far back a replay reaches; older {@code since} means an incomplete replay
 * @param batchInterval at most one batch of stored messages per interval per pod
 * @param replayMax     the most messages one replay sends
 * @param latestEvents  events whose newest message every joiner of the topic receives
 */
public record HistorySettings(
    List<String> topics, Duration retention, Duration batchInterval, int replayMax, Set<String> latestEvents) {

  public static final int MAX_REPLAY_LIMIT = 100_000;

  public HistorySettings {
    topics = List.copyOf(topics);
    latestEvents = Set.copyOf(new LinkedHashSet<>(latestEvents));
    if (replayMax < 1 || replayMax > MAX_REPLAY_LIMIT) {
      throw new IllegalArgumentException("the replay maximum must be between 1 and " + MAX_REPLAY_LIMIT + ", got "
          + replayMax);
    }
    if (batchInterval.isNegative() || batchInterval.isZero()) {
      throw new IllegalArgumentException("the history batch interval must be positive");
    }
    if (retention.isNegative() || retention.isZero()) {
      throw new IllegalArgumentException("the history retention must be positive");
    }
    for (String t : topics) {
      if (t.isBlank()) {
        throw new IllegalArgumentException("a history topic glob is empty");
      }
    }
  }

  /** No history and no latest values: Supabase's behaviour. */
  public static HistorySettings off() {
    return new HistorySettings(List.of(), Duration.ofHours(72), Duration.ofMillis(500), 1000, Set.of());
  }

  /** A matcher of topic names (without {@code realtime:}) against the globs. */
  public TopicMatcher matcher() {
    if (topics.isEmpty()) {
      return name -> false;
    }
    if (topics.contains("*")) {
      return name -> true;
    }
    StringBuilder re = new StringBuilder();
    for (String glob : topics) {
      if (re.length() > 0) {
        re.append('|');
      }
      String[] parts = glob.split("\\*", -1);
      for (int i = 0; i < parts.length; i++) {
        if (i > 0) {
          re.append(".*");
        }
        re.append(Pattern.quote(parts[i]));
      }
    }
    Pattern p = Pattern.compile(re.toString(), Pattern.DOTALL);
    return name -> p.matcher(name).matches();
  }

  /** Whether a topic name is kept. */
  @FunctionalInterface
  public interface TopicMatcher {
    boolean matches(String topicName);
  }
}
