package io.whatssound.realtime.runtime.auth;

import io.whatssound.realtime.runtime.channel.TopicKey;

/** Decides who may read from and write to a private channel. Public channels are open to any valid token. */
public interface ChannelAuthorizer {

  boolean canRead(VerifiedToken token, TopicKey key);

  boolean canWrite(VerifiedToken token, TopicKey key);

  /**
   * Private channels open to a fixed set of JWT roles (by default {@code authenticated} and
   * {@code service_role}); the stand-in until policies in the database decide.
   */
  static ChannelAuthorizer byRole(java.util.Set<String> roles) {
    return new ChannelAuthorizer() {
      @Override
      public boolean canRead(VerifiedToken token, TopicKey key) {
        return !key.isPrivate() || roles.contains(token.role());
      }

      @Override
      public boolean canWrite(VerifiedToken token, TopicKey key) {
        return canRead(token, key);
      }
    };
  }
}
