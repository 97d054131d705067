package io.whatssound.realtime.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.timeout.IdleStateEvent;
import io.whatssound.realtime.postgres.TestClock;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer.Permissions;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer;
import io.whatssound.realtime.runtime.auth.JwtVerifier;
import io.whatssound.realtime.runtime.auth.TokenRejected;
import io.whatssound.realtime.runtime.channel.Broadcaster;
import io.whatssound.realtime.runtime.channel.Ids;
import io.whatssound.realtime.runtime.channel.SharedPush;
import io.whatssound.realtime.runtime.channel.TopicRegistry;
import io.whatssound.realtime.runtime.config.RuntimeConfig;
import io.whatssound.realtime.runtime.history.History;
import io.whatssound.realtime.runtime.limits.TenantLimiter;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.protocol.Vsn;
import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The channel protocol of one socket, driven frame by frame on Netty's embedded channel. */
class SocketSessionTest {
  static final String SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final List<EmbeddedChannel> sockets = new ArrayList<>();
  private RuntimeContext rt = context(Map.of("REALTIME_JOIN_ERROR_DELAY_MS", "0"));

  private RuntimeContext context(Map<String, String> env) {
    return context(env, null);
  }

  private RuntimeContext context(Map<String, String> env, ChannelAuthorizer authorizer) {
    return context(env, authorizer, clock);
  }

  /** A runtime without database or cluster, {@code authorizer} deciding private channels (null: by role). */
  static RuntimeContext context(Map<String, String> env, ChannelAuthorizer authorizer, TestClock clock) {
    RuntimeConfig config = RuntimeConfig.fromEnv(env).withJwtSecret(SECRET);
    RuntimeMetrics metrics = new RuntimeMetrics();
    TopicRegistry topics = new TopicRegistry(metrics);
    TenantLimiter limiter = new TenantLimiter(config.limits(), clock);
    return new RuntimeContext(
        config, clock, new JwtVerifier(config.jwtSecret(), Optional.empty(), clock),
        authorizer != null ? authorizer : ChannelAuthorizer.byRole(config.privateRoles()), topics,
        new Broadcaster(topics, limiter, metrics, History.off()),
        limiter, metrics, new Ids(), Optional.empty());
  }

  @AfterEach
  void closeAll() {
    sockets.forEach(EmbeddedChannel::finishAndReleaseAll);
  }

  private String token(String role, Duration ttl) throws Exception {
    SignedJWT jwt =
        new SignedJWT(new JWSHeader(JWSAlgorithm.HS256),
            new JWTClaimsSet.Builder().claim("role", role).subject("u1")
                .expirationTime(Date.from(clock.instant().plus(ttl))).build());
    jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    return jwt.serialize();
  }

  private EmbeddedChannel connect(Vsn vsn) throws Exception {
    VerifiedToken t = verify(token("anon", Duration.ofHours(1)));
    rt.limiter().tryConnect();
    ControlFrames control = new ControlFrames(rt.metrics());
    EmbeddedChannel ch = new EmbeddedChannel(control, new SocketSession(rt, vsn.codec(), t, control));
    ch.freezeTime();
    sockets.add(ch);
    return ch;
  }

  private VerifiedToken verify(String token) throws TokenRejected {
    return rt.verifier().verify(token);
  }

  private static void send(EmbeddedChannel ch, String text) {
    ch.writeInbound(new TextWebSocketFrame(text));
  }

  /** Runs fan-out tasks of every socket, then returns what this socket received as JSON arrays. */
  private List<JsonNode> received(EmbeddedChannel ch) throws Exception {
    sockets.forEach(EmbeddedChannel::runPendingTasks);
    List<JsonNode> out = new ArrayList<>();
    Object o;
    while ((o = ch.readOutbound()) != null) {
      WebSocketFrame f = o instanceof WebSocketFrame w ? w : unwire((ByteBuf) o);
      try {
        if (f instanceof TextWebSocketFrame t) {
          out.add(Json.MAPPER.readTree(t.text()));
        } else if (f instanceof BinaryWebSocketFrame) {
          out.add(Json.MAPPER.createArrayNode().add("binary").add(f.content().readableBytes()));
        }
      } finally {
        f.release();
      }
    }
    return out;
  }

  /** Reads a pre-framed fan-out message (an unmasked server frame) back into a frame. */
  static WebSocketFrame unwire(ByteBuf b) {
    try {
      int opcode = b.readUnsignedByte() & 0x0F;
      int len = b.readUnsignedByte() & 0x7F;
      long length = len == 126 ? b.readUnsignedShort() : len == 127 ? b.readLong() : len;
      assertEquals(b.readableBytes(), length, "frame length");
      var payload = Unpooled.copiedBuffer(b);
      return opcode == 2 ? new BinaryWebSocketFrame(payload) : new TextWebSocketFrame(payload);
    } finally {
      b.release();
    }
  }

  private static JsonNode only(List<JsonNode> frames, String event) {
    return frames.stream().filter(f -> f.get(3).asText().equals(event)).findFirst().orElse(null);
  }

  private List<JsonNode> join(EmbeddedChannel ch, String topic, String config) throws Exception {
    send(ch, "[\"1\",\"1\",\"realtime:" + topic + "\",\"phx_join\",{\"config\":" + config + "}]");
    return received(ch);
  }

  private double counter(String name, String tag, String value) {
    var c = rt.metrics().registry().find(name).tag(tag, value).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void malformedFramesAreCountedAndTheSocketKeepsWorking() throws Exception {
    EmbeddedChannel ch = connect(Vsn.V2);
    send(ch, "not json");
    send(ch, "[1,2,3]");
    ch.writeInbound(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {9, 9})));
    ch.writeInbound(new TextWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {'[', (byte) 0xC3, (byte) 0x28})));
    assertTrue(received(ch).isEmpty());
    assertEquals(2, counter("realtime_frame_errors", "reason", "bad_json"));
    assertEquals(1, counter("realtime_frame_errors", "reason", "bad_envelope"));
    assertEquals(1, counter("realtime_frame_errors", "reason", "unknown_kind"));
    assertTrue(ch.isActive());

    send(ch, "[null,\"9\",\"phoenix\",\"heartbeat\",{}]");
    assertEquals("[null,\"9\",\"phoenix\",\"phx_reply\",{\"status\":\"ok\",\"response\":{}}]",
        received(ch).get(0).toString());
  }

  @Test
  void everyKindOfBadInputOnOneChannelLeavesTheSocketAndItsOtherChannelsWorking() throws Exception {
    EmbeddedChannel ch = connect(Vsn.V2);
    join(ch, "bad", "{\"broadcast\":{\"self\":true}}");
    join(ch, "good", "{\"broadcast\":{\"self\":true}}");
    // each bad input with what the socket must answer: an error reply to its ref, or nothing (ignored and counted)
    List<String[]> inputs = List.of(
        new String[] {"not json", null},
        new String[] {"[\"1\",\"9\",\"realtime:bad\"", null},
        new String[] {"[1,2,3]", null},
        new String[] {"{\"topic\":\"realtime:bad\"}", null},
        // an event no handler knows is ignored, as Phoenix channels do
        new String[] {"[\"1\",\"10\",\"realtime:bad\",\"no_such_event\",{}]", null},
        new String[] {"[\"1\",\"11\",\"realtime:bad\",\"presence\",{\"type\":\"presence\",\"event\":\"track\","
            + "\"payload\":7}]", "11"},
        new String[] {"[\"1\",\"12\",\"realtime:bad\",\"broadcast\",{\"type\":\"broadcast\",\"event\":7}]", "12"},
        new String[] {"[\"9\",\"13\",\"realtime:never-joined\",\"broadcast\",{\"type\":\"broadcast\","
            + "\"event\":\"e\",\"payload\":{}}]", null});
    int errors = 0;
    for (String[] in : inputs) {
      send(ch, in[0]);
      List<JsonNode> out = received(ch);
      if (in[1] != null) {
        JsonNode reply = only(out, "phx_reply");
        assertNotNull(reply, in[0] + " is answered: " + out);
        assertEquals(in[1], reply.get(1).asText());
        assertEquals("error", reply.get(4).path("status").asText(), in[0] + ": " + reply);
        errors++;
      }
    }
    ch.writeInbound(new TextWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {'[', (byte) 0xC3, (byte) 0x28, ']'})));
    ch.writeInbound(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {3, 1, 1, (byte) 200, 1, 0, 1, '1'})));
    assertTrue(received(ch).isEmpty(), "invalid UTF-8 and a truncated binary push are ignored");
    assertEquals(2, errors);
    assertTrue(ch.isActive(), "the socket stays open");
    send(ch, "[\"1\",\"20\",\"realtime:good\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"chat\","
        + "\"payload\":{\"t\":1}}]");
    JsonNode echo = only(received(ch), "broadcast");
    assertNotNull(echo, "the other channel still carries broadcasts");
    assertEquals("realtime:good", echo.get(2).asText());
    send(ch, "[\"1\",\"21\",\"realtime:bad\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"chat\","
        + "\"payload\":{\"t\":2}}]");
    assertNotNull(only(received(ch), "broadcast"), "and so does the channel the bad input was sent to");
  }

  @Test
  void joinRepliesWithBindingsInOrderAndPushesPresenceState() throws Exception {
    EmbeddedChannel ch = connect(Vsn.V2);
    List<JsonNode> frames =
        join(ch, "room", "{\"presence\":{\"key\":\"a\",\"enabled\":true},\"postgres_changes\":["
            + "{\"event\":\"INSERT\",\"schema\":\"public\",\"table\":\"votes\"},{\"event\":\"*\",\"schema\":\"public\"}]}");
    JsonNode reply = only(frames, "phx_reply");
    assertEquals("ok", reply.get(4).get("status").asText());
    JsonNode bindings = reply.get(4).get("response").get("postgres_changes");
    assertEquals(2, bindings.size());
    assertEquals("votes", bindings.get(0).get("table").asText());
    assertEquals("INSERT", bindings.get(0).get("event").asText());
    assertFalse(bindings.get(1).has("table"));
    assertNotNull(only(frames, "presence_state"));
    JsonNode system = only(frames, "system");
    assertEquals("postgres_changes", system.get(4).get("extension").asText());
    assertEquals("room", system.get(4).get("channel").asText());
  }

  @Test
  void broadcastReachesOtherSubscribersAcrossSerializersRespectingSelfAndAck() throws Exception {
    EmbeddedChannel a = connect(Vsn.V2);
    EmbeddedChannel b = connect(Vsn.V1);
    EmbeddedChannel c = connect(Vsn.V2);
    join(a, "room", "{\"broadcast\":{\"self\":false,\"ack\":true}}");
    send(b, "{\"topic\":\"realtime:room\",\"event\":\"phx_join\",\"payload\":{\"config\":{}},\"ref\":\"1\",\"join_ref\":\"1\"}");
    received(b);
    JsonNode refused = only(join(c, "room", "{\"broadcast\":{\"self\":true},\"private\":true}"), "phx_reply");
    assertEquals("Unauthorized: You do not have permissions to read from this Channel topic: room",
        refused.get(4).at("/response/reason").asText(), "anon is refused private channels");

    send(a, "[\"1\",\"2\",\"realtime:room\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"chat\",\"payload\":{\"t\":1}}]");
    List<JsonNode> atA = received(a);
    assertEquals(1, atA.size(), "the sender gets only its ack: " + atA);
    assertEquals("phx_reply", atA.get(0).get(3).asText());
    assertEquals("2", atA.get(0).get(1).asText());
    JsonNode atB = received(b).get(0);
    assertEquals("broadcast", atB.get("event").asText());
    assertEquals(1, atB.get("payload").get("payload").get("t").asInt());
    assertTrue(received(c).isEmpty());

    byte[] kind3 = {3, 1, 1, 13, 1, 0, 0, '1', '3', 'r', 'e', 'a', 'l', 't', 'i', 'm', 'e', ':', 'r', 'o', 'o', 'm', 'e',
        7, 7};
    a.writeInbound(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(kind3)));
    assertEquals("ok", only(received(a), "phx_reply").get(4).get("status").asText(), "binary broadcasts are acked");
    assertTrue(received(b).isEmpty(), "a 1.0.0 socket cannot carry a binary payload");
    assertEquals(2, counter("realtime_messages_in", "kind", "broadcast"));
  }

  @Test
  void presenceDiffsReachPresenceSubscribersAndLeaveOnDisconnect() throws Exception {
    EmbeddedChannel a = connect(Vsn.V2);
    EmbeddedChannel b = connect(Vsn.V2);
    join(a, "room", "{\"presence\":{\"key\":\"alice\"}}");
    join(b, "room", "{\"presence\":{\"key\":\"bob\"}}");
    send(a, "[\"1\",\"3\",\"realtime:room\",\"presence\",{\"type\":\"presence\",\"event\":\"track\",\"payload\":{\"m\":1}}]");
    JsonNode diff = only(received(b), "presence_diff");
    assertEquals(1, diff.get(4).at("/joins/alice/metas/0/m").asInt());
    List<JsonNode> atA = received(a);
    assertEquals("ok", only(atA, "phx_reply").get(4).get("status").asText());
    assertNotNull(only(atA, "presence_diff"), "the tracker sees its own join");

    send(a, "[\"1\",\"4\",\"realtime:room\",\"presence\",{\"type\":\"presence\",\"event\":\"track\",\"payload\":\"x\"}]");
    JsonNode err = only(received(a), "phx_reply");
    assertEquals("Presence track payload must be a map", err.get(4).at("/response/reason").asText());

    a.close();
    JsonNode leave = only(received(b), "presence_diff");
    assertEquals(1, leave.get(4).at("/leaves/alice/metas/0/m").asInt());
  }

  @Test
  void anOverloadedEventLoopMakesPublishersRefuseInsteadOfQueueing() throws Exception {
    EmbeddedChannel a = connect(Vsn.V2);
    join(a, "room", "{}");
    var key = new TopicKey("realtime:room", false);
    var b = new UserBroadcast("e", "{}".getBytes(), false, null);
    for (int i = 0; i < 70; i++) {
      assertTrue(i < 65 || !rt.topics().acceptsMore());
      rt.topics().publish(key,
          new SharedPush(a.alloc(), 1024 * 1024,
              (c, alloc) -> c.encodeBroadcast(alloc, "realtime:room", b)),
          null, TopicRegistry.Audience.ALL, "broadcast");
    }
    assertFalse(rt.topics().acceptsMore(), "70 MB queued on one loop");
    send(a, "[\"1\",\"2\",\"realtime:room\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"e\",\"payload\":{}}]");
    List<JsonNode> frames = received(a);
    assertEquals("Too many messages per second", only(frames, "phx_reply").get(4).at("/response/reason").asText());
    assertEquals(70, frames.stream().filter(f -> f.get(3).asText().equals("broadcast")).count(),
        "the queued messages are delivered once the loop runs");
    assertTrue(rt.topics().acceptsMore());
    assertTrue(counter("realtime_rejections", "reason", "fanout_backlog") >= 1);
  }

  @Test
  void aPingIsAnsweredWithItsPayloadAndAPongIsDropped() throws Exception {
    EmbeddedChannel ch = connect(Vsn.V2);
    ch.writeInbound(new PongWebSocketFrame(Unpooled.copiedBuffer("late", StandardCharsets.UTF_8)));
    ch.writeInbound(new PingWebSocketFrame(Unpooled.copiedBuffer("are you there", StandardCharsets.UTF_8)));
    PongWebSocketFrame pong = ch.readOutbound();
    try {
      assertEquals("are you there", pong.content().toString(StandardCharsets.UTF_8));
    } finally {
      pong.release();
    }
    assertNull(ch.readOutbound(), "only the pong goes out");
    assertTrue(ch.isOpen());
  }

  @Test
  void aCloseIsEchoedAndEndsTheSocketAndItsChannels() throws Exception {
    EmbeddedChannel ch = connect(Vsn.V2);
    join(ch, "room", "{}");
    assertEquals(1, rt.topics().topicCount());
    ch.writeInbound(new CloseWebSocketFrame(WebSocketCloseStatus.NORMAL_CLOSURE, "bye"));
    CloseWebSocketFrame echo = ch.readOutbound();
    try {
      assertEquals(1000, echo.statusCode());
    } finally {
      echo.release();
    }
    ch.runPendingTasks();
    assertFalse(ch.isOpen());
    assertEquals(0, rt.topics().topicCount(), "the socket's subscriptions are gone with it");
  }

  @Test
  void anIdleSocketIsClosedAndCounted() throws Exception {
    EmbeddedChannel ch = connect(Vsn.V2);
    ch.pipeline().fireUserEventTriggered(IdleStateEvent.FIRST_READER_IDLE_STATE_EVENT);
    assertFalse(ch.isOpen());
    assertEquals(1, counter("realtime_rejections", "reason", "idle_timeout"));
  }

  @Test
  void leaveRepliesAndClosesTheChannel() throws Exception {
    EmbeddedChannel a = connect(Vsn.V2);
    join(a, "room", "{}");
    send(a, "[\"1\",\"5\",\"realtime:room\",\"phx_leave\",{}]");
    List<JsonNode> frames = received(a);
    assertEquals("ok", only(frames, "phx_reply").get(4).get("status").asText());
    JsonNode close = only(frames, "phx_close");
    assertEquals("1", close.get(0).asText());
    send(a, "[\"1\",\"6\",\"realtime:room\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"e\",\"payload\":{}}]");
    assertEquals("unmatched topic", only(received(a), "phx_reply").get(4).at("/response/reason").asText());
  }

  @Test
  void aLeaveOfATopicNotJoinedIsAnsweredOkAsPhoenixDoes() throws Exception {
    EmbeddedChannel a = connect(Vsn.V2);
    join(a, "room", "{}");
    send(a, "[\"1\",\"5\",\"realtime:room\",\"phx_leave\",{}]");
    received(a);
    send(a, "[\"1\",\"6\",\"realtime:room\",\"phx_leave\",{}]"); // again, after phx_close
    send(a, "[\"9\",\"7\",\"realtime:never\",\"phx_leave\",{}]");
    List<JsonNode> replies = received(a);
    assertEquals(2, replies.size());
    for (JsonNode r : replies) {
      assertEquals("phx_reply", r.get(3).asText());
      assertEquals("ok", r.get(4).get("status").asText());
      assertEquals(0, r.get(4).get("response").size());
    }
    assertEquals(List.of("6", "7"), replies.stream().map(r -> r.get(1).asText()).toList());
  }

  @Test
  void aLeaveWhileAPrivateJoinWaitsOnTheDatabaseDropsThatJoin() throws Exception {
    CompletableFuture<Permissions> decision = new CompletableFuture<>();
    rt = context(Map.of("REALTIME_JOIN_ERROR_DELAY_MS", "0"), (token, key) -> decision);
    EmbeddedChannel a = connect(Vsn.V2);
    send(a, "[\"1\",\"1\",\"realtime:vip\",\"phx_join\",{\"config\":{\"private\":true}}]");
    assertEquals(List.of(), received(a), "the join waits for its permissions");
    send(a, "[\"1\",\"2\",\"realtime:vip\",\"phx_leave\",{}]");
    decision.complete(Permissions.ALL);
    List<JsonNode> frames = received(a);
    assertEquals(1, frames.size(), frames.toString());
    assertEquals("2", frames.get(0).get(1).asText(), "only the leave is answered");
    assertEquals(0, rt.topics().topicCount(), "the given-up join never subscribed");
  }

  @Test
  void aMessageForAnEarlierJoinOfTheTopicIsIgnored() throws Exception {
    EmbeddedChannel a = connect(Vsn.V2);
    join(a, "room", "{}");
    send(a, "[\"1\",\"2\",\"realtime:room\",\"phx_leave\",{}]");
    send(a, "[\"3\",\"3\",\"realtime:room\",\"phx_join\",{\"config\":{}}]");
    received(a);
    send(a, "[\"1\",\"4\",\"realtime:room\",\"phx_leave\",{}]"); // late, for join 1
    assertEquals(List.of(), received(a));
    assertEquals(1, rt.topics().topicCount(), "join 3 still stands");
    send(a, "[\"3\",\"5\",\"realtime:room\",\"phx_leave\",{}]");
    assertEquals("ok", only(received(a), "phx_reply").get(4).get("status").asText());
    assertEquals(0, rt.topics().topicCount());
  }

  @Test
  void replicationReadyWithoutADatabaseClosesTheChannelAfterAMinute() throws Exception {
    EmbeddedChannel a = connect(Vsn.V2);
    List<JsonNode> joined = join(a, "room", "{\"broadcast\":{\"replication_ready\":true}}");
    assertEquals("ok", only(joined, "phx_reply").get(4).get("status").asText());
    a.advanceTimeBy(59, TimeUnit.SECONDS);
    a.runScheduledPendingTasks();
    assertEquals(List.of(), received(a));
    a.advanceTimeBy(1, TimeUnit.SECONDS);
    a.runScheduledPendingTasks();
    List<JsonNode> frames = received(a);
    assertEquals("Replication connection was not established in time",
        only(frames, "system").get(4).get("message").asText());
    assertNotNull(only(frames, "phx_close"));
    assertEquals(0, rt.topics().topicCount());
  }

  @Test
  void aPrivateJoinWhoseDatabaseCannotBeReachedSaysSo() throws Exception {
    rt = context(Map.of("REALTIME_JOIN_ERROR_DELAY_MS", "0"),
        (token, key) -> CompletableFuture.failedFuture(new ChannelAuthorizer.DatabaseUnavailable("connection refused")));
    EmbeddedChannel a = connect(Vsn.V2);
    List<JsonNode> frames = join(a, "vip", "{\"private\":true}");
    assertEquals("UnableToConnectToProject: Realtime was unable to connect to the project database",
        only(frames, "phx_reply").get(4).at("/response/reason").asText());
  }

  @Test
  void aNewTokenThatLosesOneKindOfReadEndsTheChannel() throws Exception {
    Permissions broadcastOnly = new Permissions(true, false, true, false);
    rt = context(Map.of("REALTIME_JOIN_ERROR_DELAY_MS", "0"), (token, key) -> CompletableFuture.completedFuture(
        token.role().equals("anon") ? Permissions.ALL : broadcastOnly));
    EmbeddedChannel a = connect(Vsn.V2);
    assertEquals("ok", only(join(a, "vip", "{\"private\":true}"), "phx_reply").get(4).get("status").asText());
    send(a, "[\"1\",\"2\",\"realtime:vip\",\"access_token\",{\"access_token\":\""
        + token("listener", Duration.ofHours(1)) + "\"}]");
    List<JsonNode> frames = received(a);
    assertEquals("You no longer have permission to read from this Channel topic: vip",
        only(frames, "system").get(4).get("message").asText());
    assertNotNull(only(frames, "phx_close"));
  }

  @Test
  void aTrackOverThePayloadLimitClosesTheChannel() throws Exception {
    rt = context(Map.of("REALTIME_JOIN_ERROR_DELAY_MS", "0", "REALTIME_MAX_PAYLOAD_KB", "1"));
    EmbeddedChannel a = connect(Vsn.V2);
    join(a, "room", "{\"presence\":{\"key\":\"big\"}}");
    send(a, "[\"1\",\"2\",\"realtime:room\",\"presence\",{\"type\":\"presence\",\"event\":\"track\","
        + "\"payload\":{\"blob\":\"" + "x".repeat(2000) + "\"}}]");
    List<JsonNode> frames = received(a);
    assertEquals("Track message size exceeded", only(frames, "system").get(4).get("message").asText());
    assertNotNull(only(frames, "phx_close"));
    assertNull(only(frames, "phx_reply"), "the track itself gets no reply");
  }

  @Test
  void aPrivateTrackWithoutWritePermissionIsAnErrorWithAnEmptyResponse() throws Exception {
    rt = context(Map.of("REALTIME_JOIN_ERROR_DELAY_MS", "0"),
        (token, key) -> CompletableFuture.completedFuture(new Permissions(true, true, true, false)));
    EmbeddedChannel a = connect(Vsn.V2);
    join(a, "vip", "{\"private\":true,\"presence\":{\"key\":\"k\"}}");
    send(a, "[\"1\",\"2\",\"realtime:vip\",\"presence\",{\"type\":\"presence\",\"event\":\"track\","
        + "\"payload\":{\"n\":1}}]");
    JsonNode reply = only(received(a), "phx_reply").get(4);
    assertEquals("error", reply.get("status").asText());
    assertEquals(0, reply.get("response").size());
  }

  @Test
  void aClockPushIsAnsweredWithTheServerTimesInMicroseconds() throws Exception {
    clock.advance(Duration.ofNanos(123_456_789));
    EmbeddedChannel a = connect(Vsn.V2);
    send(a, "[null,\"7\",\"phoenix\",\"clock\",{\"t0\":1767225599999.5}]");
    JsonNode reply = only(received(a), "phx_reply");
    assertEquals("7", reply.get(1).asText());
    JsonNode r = reply.get(4).get("response");
    assertEquals("ok", reply.get(4).get("status").asText());
    assertEquals(1767225599999.5, r.get("t0").asDouble());
    assertEquals("1767225600123.456", r.get("t1").decimalValue().toPlainString(), "sub-millisecond, not rounded");
    assertEquals("1767225600123.456", r.get("t2").decimalValue().toPlainString());
    EmbeddedChannel v1 = connect(Vsn.V1);
    send(v1, "{\"topic\":\"phoenix\",\"event\":\"clock\",\"payload\":{},\"ref\":\"8\"}");
    JsonNode refused = received(v1).get(0);
    assertEquals("error", refused.at("/payload/status").asText(), refused.toString());
  }

  @Test
  void aDrainingSocketLeavesPresenceAtOnceAndTakesNoMoreJoins() throws Exception {
    EmbeddedChannel a = connect(Vsn.V2);
    EmbeddedChannel b = connect(Vsn.V2);
    join(a, "room", "{\"presence\":{\"key\":\"alice\"}}");
    join(b, "room", "{\"presence\":{\"key\":\"bob\"}}");
    send(a, "[\"1\",\"2\",\"realtime:room\",\"presence\",{\"type\":\"presence\",\"event\":\"track\","
        + "\"payload\":{\"n\":1}}]");
    received(a);
    received(b);
    a.pipeline().get(SocketSession.class).drainStarted();
    JsonNode diff = only(received(b), "presence_diff");
    assertTrue(diff.get(4).get("leaves").has("alice"), diff.toString());
    assertTrue(a.isOpen(), "the socket itself goes later, in its batch");
    send(a, "[\"3\",\"3\",\"realtime:other\",\"phx_join\",{\"config\":{}}]");
    assertEquals("ServerShuttingDown: this server is shutting down; join again after reconnecting",
        only(received(a), "phx_reply").get(4).at("/response/reason").asText());
  }

  @Test
  void joinErrorsAreDelayed() throws Exception {
    rt = context(Map.of("REALTIME_JOIN_ERROR_DELAY_MS", "5000", "REALTIME_MAX_CHANNELS_PER_CLIENT", "1"));
    EmbeddedChannel a = connect(Vsn.V2);
    join(a, "one", "{}");
    send(a, "[\"2\",\"2\",\"realtime:two\",\"phx_join\",{\"config\":{}}]");
    assertTrue(received(a).isEmpty());
    a.advanceTimeBy(4999, TimeUnit.MILLISECONDS);
    a.runScheduledPendingTasks();
    assertTrue(received(a).isEmpty());
    a.advanceTimeBy(1, TimeUnit.MILLISECONDS);
    a.runScheduledPendingTasks();
    assertEquals("ChannelRateLimitReached: Too many channels",
        only(received(a), "phx_reply").get(4).at("/response/reason").asText());
  }

  @Test
  void anExpiredChannelTokenSendsASystemErrorThenCloses() throws Exception {
    EmbeddedChannel a = connect(Vsn.V2);
    String shortLived = token("authenticated", Duration.ofSeconds(10));
    send(a, "[\"1\",\"1\",\"realtime:room\",\"phx_join\",{\"config\":{},\"access_token\":\"" + shortLived + "\"}]");
    assertEquals("ok", only(received(a), "phx_reply").get(4).get("status").asText());
    clock.advance(Duration.ofSeconds(10));
    a.advanceTimeBy(10, TimeUnit.SECONDS);
    a.runScheduledPendingTasks();
    List<JsonNode> frames = received(a);
    JsonNode system = only(frames, "system");
    assertEquals("Token has expired 0 seconds ago", system.get(4).get("message").asText());
    assertEquals("error", system.get(4).get("status").asText());
    assertNotNull(only(frames, "phx_close"));
  }

  @Test
  void aRefreshedTokenKeepsTheChannelAlive() throws Exception {
    EmbeddedChannel a = connect(Vsn.V2);
    send(a, "[\"1\",\"1\",\"realtime:room\",\"phx_join\",{\"config\":{},\"access_token\":\""
        + token("authenticated", Duration.ofSeconds(10)) + "\"}]");
    received(a);
    send(a, "[\"1\",\"2\",\"realtime:room\",\"access_token\",{\"access_token\":\""
        + token("authenticated", Duration.ofSeconds(60)) + "\"}]");
    clock.advance(Duration.ofSeconds(30));
    a.advanceTimeBy(30, TimeUnit.SECONDS);
    a.runScheduledPendingTasks();
    assertTrue(received(a).isEmpty());
    clock.advance(Duration.ofSeconds(31));
    a.advanceTimeBy(31, TimeUnit.SECONDS);
    a.runScheduledPendingTasks();
    assertNotNull(only(received(a), "phx_close"));
  }

  @Test
  void anExpiredJoinTokenIsRefusedWithItsAge() throws Exception {
    EmbeddedChannel a = connect(Vsn.V2);
    String t = token("authenticated", Duration.ofSeconds(1));
    clock.advance(Duration.ofSeconds(4));
    send(a, "[\"1\",\"1\",\"realtime:room\",\"phx_join\",{\"config\":{},\"access_token\":\"" + t + "\"}]");
    assertEquals("InvalidJWTToken: Token has expired 3 seconds ago",
        only(received(a), "phx_reply").get(4).at("/response/reason").asText());
    assertNull(rt.topics().presence(new TopicKey("realtime:room", false))
        .orElse(null));
  }
}
