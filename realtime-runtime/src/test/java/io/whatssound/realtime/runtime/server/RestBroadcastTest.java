package io.whatssound.realtime.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.postgres.TestClock;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer.DatabaseUnavailable;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer.Permissions;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The REST API's answers for private topics, decided by an authorizer that is there, says no, or is away. */
class RestBroadcastTest {
  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final VerifiedToken token = new VerifiedToken("t", "authenticated", Instant.MAX, Map.of());
  private final RestBroadcast.Message vip = new RestBroadcast.Message(new TopicKey("realtime:vip", true),
      new UserBroadcast("e", "{}".getBytes(StandardCharsets.UTF_8), false, null));

  private RestBroadcast.Outcome single(ChannelAuthorizer authorizer) {
    RestBroadcast rest = new RestBroadcast(SocketSessionTest.context(Map.of(), authorizer, clock));
    return rest.publishSingle(token, vip, ByteBufAllocator.DEFAULT).join();
  }

  @Test
  void aPrivateMessageIsSentWhenAllowedRefusedWith403OtherwiseAnd422WhenTheDatabaseIsAway() {
    assertEquals(202, single((t, k) -> CompletableFuture.completedFuture(Permissions.ALL)).status());
    RestBroadcast.Outcome refused = single((t, k) -> CompletableFuture.completedFuture(Permissions.NONE));
    assertEquals(new RestBroadcast.Outcome(403, Map.of("message", "Unauthorized")), refused);
    RestBroadcast.Outcome away = single((t, k) -> CompletableFuture.failedFuture(new DatabaseUnavailable("refused")));
    assertEquals(new RestBroadcast.Outcome(422, Map.of("message", "Tenant database unavailable")), away);
  }
}
