package io.whatssound.realtime.runtime.channel;

import io.whatssound.realtime.runtime.presence.PresenceState;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import io.whatssound.realtime.runtime.value.StoredRef;
import io.whatssound.realtime.runtime.value.TopicKey;

/**
 * What the local paths hand to the other pods after delivering locally. A single node uses {@link #LOCAL},
 * which does nothing; {@link ClusterNode} relays over JGroups.
 */
public interface ClusterRelay {

  /**
   * A broadcast from a client or REST, already delivered to the local subscribers; {@code stored} when it is kept in
   * history (its row is written later), else null.
   */
  void broadcast(TopicKey key, UserBroadcast broadcast, StoredRef stored);

  /** A broadcast stored in {@code realtime.messages}, read from the slot on this pod (its thread may block). */
  void storedBroadcast(TopicKey key, UserBroadcast broadcast, StoredRef stored);

  /** A local presence change of {@code owner} (a subscription id), already applied and sent locally. */
  void presence(TopicKey key, String owner, PresenceState.Diff diff);

  /** A row change read from the slot on this pod, already routed locally (its thread may block). */
  void change(ChangeRecord change);

  /** A topic's presence state is about to be read by a joining subscription: fill in other pods' presences. */
  void seed(TopicKey key, PresenceState state);

  /** One node: nothing crosses. */
  ClusterRelay LOCAL =
      new ClusterRelay() {
        @Override
        public void broadcast(TopicKey key, UserBroadcast broadcast, StoredRef stored) {}

        @Override
        public void storedBroadcast(TopicKey key, UserBroadcast broadcast, StoredRef stored) {}

        @Override
        public void presence(TopicKey key, String owner, PresenceState.Diff diff) {}

        @Override
        public void change(ChangeRecord change) {}

        @Override
        public void seed(TopicKey key, PresenceState state) {}
      };
}
