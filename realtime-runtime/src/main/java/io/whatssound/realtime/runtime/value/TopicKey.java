package io.whatssound.realtime.runtime.value;

/**
 * Identifies a channel topic within the tenant. Public and private channels of the same name are
 * different topics.
 *
 * @param topic     the full topic, {@code realtime:<name>}
 * @param isPrivate whether the channel is private
 */
public record TopicKey(String topic, boolean isPrivate) {
  public static final String PREFIX = "realtime:";

  /** The key of a REST broadcast topic, which is given without the prefix. */
  public static TopicKey ofSubTopic(String name, boolean isPrivate) {
    return new TopicKey(PREFIX + name, isPrivate);
  }

  public String subTopic() {
    return topic.startsWith(PREFIX) ? topic.substring(PREFIX.length()) : topic;
  }
}
