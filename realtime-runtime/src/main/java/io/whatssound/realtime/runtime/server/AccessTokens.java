package io.whatssound.realtime.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer.Permissions;
import io.whatssound.realtime.runtime.auth.JwtVerifier;
import io.whatssound.realtime.runtime.auth.TokenRejected;
import io.whatssound.realtime.runtime.channel.JoinRequest;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.protocol.InboundMessage;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.util.concurrent.TimeUnit;

/**
 * The tokens of one socket's channels: a channel closes when its token expires, and an {@code access_token} message
 * swaps the token after checking it and the permissions it grants. Runs on the socket's event loop.
 */
final class AccessTokens {
  private final RuntimeContext rt;
  private final SocketSession session;
  private final EventExecutor loop;

  AccessTokens(RuntimeContext rt, SocketSession session, EventExecutor loop) {
    this.rt = rt;
    this.session = session;
    this.loop = loop;
  }

  /** {@code access_token}: a new token for the channel, or the channel closes with the reason. */
  void refresh(Subscription sub, InboundMessage m) {
    JsonNode value = m.payload().path("access_token");
    if (!value.isTextual() || JoinRequest.isApiKey(value.textValue())) {
      // null (signed out, as supabase-js sends it) or an API key rather than a user's JWT: ignored, as Supabase does
      return;
    }
    String raw = value.textValue();
    if (raw.equals(sub.token().raw())) {
      return;
    }
    VerifiedToken token;
    try {
      token = rt.verifier().verify(raw);
    } catch (TokenRejected e) {
      session.close(sub, rejectionText(e, raw));
      return;
    }
    rt.authorizer().permissions(token, sub.key()).whenComplete(
        (p, failure) -> loop.execute(() -> {
          if (!session.holds(sub)) {
            return;
          }
          Permissions perms = failure == null ? p : Permissions.NONE;
          if (!perms.canRead()) {
            session.close(sub, "You do not have permissions to read from this Channel topic: " + sub.key().subTopic());
            return;
          }
          Permissions before = sub.permissions();
          if ((before.readBroadcast() && !perms.readBroadcast()) || (before.readPresence() && !perms.readPresence())) {
            // as Supabase does: losing either kind of read ends the channel
            session.close(sub, "You no longer have permission to read from this Channel topic: " + sub.key().subTopic());
            return;
          }
          sub.permissions(perms);
          sub.token(token, scheduleExpiry(sub, token));
          rt.postgres().ifPresent(pc -> pc.tokenChanged(sub));
        }));
  }

  /** Closes the channel when its token expires (unless another token replaced it first). */
  ScheduledFuture<?> scheduleExpiry(Subscription sub, VerifiedToken token) {
    long millis = Math.max(0, token.expiresAt().toEpochMilli() - rt.clock().millis());
    return loop.schedule(
        () -> {
          if (session.holds(sub)) {
            session.close(sub, rt.verifier().expiredAgo(token.expiresAt()));
          }
        },
        millis,
        TimeUnit.MILLISECONDS);
  }

  /** What a client is told of a refused token: for an expired one, how long ago it expired. */
  String rejectionText(TokenRejected e, String raw) {
    if (e.expired()) {
      return JwtVerifier.unverifiedExpiry(raw).map(rt.verifier()::expiredAgo).orElse(e.getMessage());
    }
    return e.getMessage();
  }
}
