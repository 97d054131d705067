package io.whatssound.realtime.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
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

  @Test
  void afterTheDrainAShuttingDownServerRefusesMessagesInsteadOfLosingThem() {
    RestBroadcast rest = new RestBroadcast(
        SocketSessionTest.context(Map.of(), (t, k) -> CompletableFuture.completedFuture(Permissions.ALL), clock),
        () -> false);
    EmbeddedChannel ch = new EmbeddedChannel(new SimpleChannelInboundHandler<FullHttpRequest>() {
      @Override
      protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        rest.handle(ctx, req, new QueryStringDecoder(req.uri()), "");
      }
    });
    ch.writeInbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/api/broadcast",
        Unpooled.copiedBuffer("{\"messages\":[{\"topic\":\"t\",\"event\":\"e\",\"payload\":{}}]}",
            StandardCharsets.UTF_8)));
    FullHttpResponse res = ch.readOutbound();
    try {
      assertEquals(HttpResponseStatus.SERVICE_UNAVAILABLE, res.status());
      assertTrue(res.content().toString(StandardCharsets.UTF_8).contains("shutting down"));
    } finally {
      res.release();
      ch.finishAndReleaseAll();
    }
  }
}
