package io.whatssound.realtime.runtime.auth;

import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Decides what a token may do on a private channel. Public channels are open to any valid token.
 * Answers asynchronously: a decision may need the database, and event loops never wait for it.
 */
public interface ChannelAuthorizer {

  /** What a token may do on one topic. */
  record Permissions(boolean readBroadcast, boolean readPresence, boolean writeBroadcast, boolean writePresence) {
    public static final Permissions ALL = new Permissions(true, true, true, true);
    public static final Permissions NONE = new Permissions(false, false, false, false);

    /** Joining needs permission to read something. */
    public boolean canRead() {
      return readBroadcast || readPresence;
    }
  }

  /**
   * What {@code token} may do on {@code key}. Fails with {@link DatabaseUnavailable} when the decision needs a
   * database that cannot be reached; a policy that errors is a refusal, not a failure.
   */
  CompletableFuture<Permissions> permissions(VerifiedToken token, TopicKey key);

  /** The database that decides private channels cannot be reached. */
  final class DatabaseUnavailable extends RuntimeException {
    public DatabaseUnavailable(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * Private channels open to a fixed set of JWT roles (by default {@code authenticated} and
   * {@code service_role}); used when the runtime has no database.
   */
  static ChannelAuthorizer byRole(Set<String> roles) {
    return (token, key) ->
        CompletableFuture.completedFuture(
            !key.isPrivate() || roles.contains(token.role()) ? Permissions.ALL : Permissions.NONE);
  }
}
