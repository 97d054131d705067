package io.whatssound.realtime.runtime.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FrameCodecTest {
  private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
  private final FrameCodec v1 = Vsn.V1.codec();
  private final FrameCodec v2 = Vsn.V2.codec();

  private static ByteBuf text(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
  }

  private static JsonNode json(OutFrame f) throws Exception {
    try {
      return Json.MAPPER.readTree(f.content().toString(StandardCharsets.UTF_8));
    } finally {
      f.content().release();
    }
  }

  /** Builds a kind 3 frame as the current supabase-js client does. */
  static byte[] kind3(String joinRef, String ref, String topic, String event, String meta, int encoding, byte[] payload) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[][] fields = {
      joinRef.getBytes(StandardCharsets.UTF_8), ref.getBytes(StandardCharsets.UTF_8),
      topic.getBytes(StandardCharsets.UTF_8), event.getBytes(StandardCharsets.UTF_8),
      meta.getBytes(StandardCharsets.UTF_8)
    };
    out.write(3);
    for (byte[] f : fields) {
      out.write(f.length);
    }
    out.write(encoding);
    for (byte[] f : fields) {
      out.writeBytes(f);
    }
    out.writeBytes(payload);
    return out.toByteArray();
  }

  @Test
  void v2TextDecodesTheArrayEnvelope() throws Exception {
    InboundMessage m =
        v2.decodeText(text("[\"1\",\"2\",\"realtime:room\",\"phx_join\",{\"config\":{\"private\":false}}]"));
    assertEquals("1", m.joinRef());
    assertEquals("2", m.ref());
    assertEquals("realtime:room", m.topic());
    assertEquals("phx_join", m.event());
    assertFalse(m.payload().path("config").path("private").asBoolean(true));
  }

  @Test
  void v1TextDecodesTheObjectEnvelope() throws Exception {
    InboundMessage m =
        v1.decodeText(text("{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{},\"ref\":\"7\"}"));
    assertNull(m.joinRef());
    assertEquals("7", m.ref());
    assertEquals("heartbeat", m.event());
  }

  @Test
  void pushesRoundTripThroughBothSerializers() throws Exception {
    Json.GeneratorWriter payload =
        g -> {
          g.writeStartObject();
          g.writeStringField("status", "ok");
          g.writeEndObject();
        };
    JsonNode a = json(v2.encode(ALLOC, "1", "2", "realtime:room", "phx_reply", payload));
    assertEquals("[\"1\",\"2\",\"realtime:room\",\"phx_reply\",{\"status\":\"ok\"}]", a.toString());
    InboundMessage back = v2.decodeText(text(a.toString()));
    assertEquals("phx_reply", back.event());

    JsonNode o = json(v1.encode(ALLOC, null, "2", "realtime:room", "phx_reply", payload));
    assertEquals("realtime:room", o.get("topic").asText());
    assertEquals("2", o.get("ref").asText());
    assertTrue(o.get("join_ref").isNull());
    assertEquals("ok", v1.decodeText(text(o.toString())).payload().get("status").asText());
  }

  @Test
  void jsonBroadcastKeepsThePayloadBytesAndEscapesNames() throws Exception {
    UserBroadcast b =
        new UserBroadcast("say \"hi\"", "{\"text\":\"héllo\",\"n\":[1,2]}".getBytes(StandardCharsets.UTF_8), false, null);
    JsonNode a = json(v2.encodeBroadcast(ALLOC, "realtime:room", b));
    assertTrue(a.get(0).isNull());
    assertTrue(a.get(1).isNull());
    assertEquals("broadcast", a.get(3).asText());
    assertEquals("say \"hi\"", a.get(4).get("event").asText());
    assertEquals("héllo", a.get(4).get("payload").get("text").asText());
    assertEquals("broadcast", a.get(4).get("type").asText());

    ObjectNode meta = Json.MAPPER.createObjectNode().put("id", "abc");
    JsonNode o = json(v1.encodeBroadcast(ALLOC, "realtime:room", new UserBroadcast("e", "{}".getBytes(), false, meta)));
    assertEquals("broadcast", o.get("event").asText());
    assertEquals("abc", o.get("payload").get("meta").get("id").asText());
  }

  @Test
  void binaryBroadcastGoesOutAsKind4ToV2AndNotAtAllToV1() {
    byte[] payload = {0, 1, 2, (byte) 255};
    UserBroadcast b = new UserBroadcast("audio", payload, true, null);
    assertNull(v1.encodeBroadcast(ALLOC, "realtime:room", b));
    OutFrame f = v2.encodeBroadcast(ALLOC, "realtime:room", b);
    try {
      assertTrue(f.binary());
      ByteBuf c = f.content();
      assertEquals(4, c.getUnsignedByte(0));
      int topicLen = c.getUnsignedByte(1);
      int eventLen = c.getUnsignedByte(2);
      assertEquals("realtime:room".length(), topicLen);
      assertEquals(0, c.getUnsignedByte(3));
      assertEquals(0, c.getUnsignedByte(4));
      assertEquals("realtime:room", c.toString(5, topicLen, StandardCharsets.UTF_8));
      assertEquals("audio", c.toString(5 + topicLen, eventLen, StandardCharsets.UTF_8));
      byte[] rest = new byte[c.readableBytes() - 5 - topicLen - eventLen];
      c.getBytes(5 + topicLen + eventLen, rest);
      assertArrayEquals(payload, rest);
    } finally {
      f.content().release();
    }
  }

  @Test
  void kind3DecodesJsonAndBinaryPayloads() throws Exception {
    byte[] json = "{\"x\":1}".getBytes(StandardCharsets.UTF_8);
    InboundMessage m =
        v2.decodeBinary(Unpooled.wrappedBuffer(kind3("1", "5", "realtime:room", "cursor", "{\"persist\":true}", 1, json)));
    assertEquals("1", m.joinRef());
    assertEquals("5", m.ref());
    assertEquals("realtime:room", m.topic());
    assertEquals("broadcast", m.event());
    assertEquals("cursor", m.broadcast().event());
    assertFalse(m.broadcast().binary());
    assertArrayEquals(json, m.broadcast().payload());
    assertNull(m.broadcast().meta(), "client metadata is not forwarded");

    byte[] bin = {9, 8, 7};
    InboundMessage b = v2.decodeBinary(Unpooled.wrappedBuffer(kind3("", "", "realtime:room", "e", "", 0, bin)));
    assertNull(b.joinRef());
    assertTrue(b.broadcast().binary());
    assertArrayEquals(bin, b.broadcast().payload());
  }

  @Test
  void kind3ToKind4RoundTripPreservesTheBroadcast() throws Exception {
    byte[] bin = "\u00ff\u0000raw".getBytes(StandardCharsets.ISO_8859_1);
    UserBroadcast in =
        v2.decodeBinary(Unpooled.wrappedBuffer(kind3("1", "2", "realtime:r", "ev", "", 0, bin))).broadcast();
    OutFrame out = v2.encodeBroadcast(ALLOC, "realtime:r", in);
    try {
      ByteBuf c = out.content();
      byte[] rest = new byte[c.readableBytes() - 5 - 10 - 2];
      c.getBytes(5 + 10 + 2, rest);
      assertArrayEquals(bin, rest);
    } finally {
      out.content().release();
    }
  }

  @Test
  void malformedTextIsRejectedWithAReason() {
    assertEquals("bad_json", assertThrows(FrameException.class, () -> v2.decodeText(text("not json"))).reason());
    assertEquals("bad_json", assertThrows(FrameException.class, () -> v2.decodeText(text("[1,2] [3]"))).reason());
    assertEquals("bad_envelope",
        assertThrows(FrameException.class, () -> v2.decodeText(text("[null,null,\"t\",\"e\"]"))).reason());
    assertEquals("bad_envelope",
        assertThrows(FrameException.class, () -> v2.decodeText(text("[null,null,3,\"e\",{}]"))).reason());
    assertEquals("bad_envelope",
        assertThrows(FrameException.class, () -> v2.decodeText(text("[null,null,\"t\",\"e\",\"str\"]"))).reason());
    assertEquals("bad_envelope",
        assertThrows(FrameException.class, () -> v1.decodeText(text("[null,null,\"t\",\"e\",{}]"))).reason());
    assertEquals("bad_envelope",
        assertThrows(FrameException.class, () -> v1.decodeText(text("{\"topic\":\"t\",\"payload\":{}}"))).reason());
  }

  @Test
  void invalidUtf8IsRejected() {
    byte[] bad = {'[', 'n', 'u', 'l', 'l', ',', 'n', 'u', 'l', 'l', ',', '"', (byte) 0xC3, (byte) 0x28, '"', ',',
        '"', 'e', '"', ',', '{', '}', ']'};
    assertEquals("bad_json", assertThrows(FrameException.class, () -> v2.decodeText(Unpooled.wrappedBuffer(bad))).reason());
    byte[] frame = kind3("", "", "realtime:x", "e", "", 1, "{}".getBytes());
    frame[7 + 9] = (byte) 0xFF; // inside the topic
    assertEquals("bad_utf8",
        assertThrows(FrameException.class, () -> v2.decodeBinary(Unpooled.wrappedBuffer(frame))).reason());
  }

  @Test
  void badBinaryFramesAreRejected() {
    assertEquals("unknown_kind",
        assertThrows(FrameException.class, () -> v2.decodeBinary(Unpooled.wrappedBuffer(new byte[] {4, 0, 0}))).reason());
    assertEquals("bad_binary",
        assertThrows(FrameException.class, () -> v2.decodeBinary(Unpooled.wrappedBuffer(new byte[0]))).reason());
    assertEquals("bad_binary",
        assertThrows(FrameException.class, () -> v2.decodeBinary(Unpooled.wrappedBuffer(new byte[] {3, 1, 1}))).reason());
    byte[] lying = kind3("1", "2", "realtime:x", "e", "", 1, "{}".getBytes());
    lying[3] = (byte) 200; // topic length beyond the frame
    assertEquals("bad_binary",
        assertThrows(FrameException.class, () -> v2.decodeBinary(Unpooled.wrappedBuffer(lying))).reason());
    byte[] enc = kind3("1", "2", "realtime:x", "e", "", 7, "{}".getBytes());
    assertEquals("bad_binary",
        assertThrows(FrameException.class, () -> v2.decodeBinary(Unpooled.wrappedBuffer(enc))).reason());
    byte[] badJson = kind3("1", "2", "realtime:x", "e", "", 1, "{oops".getBytes());
    assertEquals("bad_json",
        assertThrows(FrameException.class, () -> v2.decodeBinary(Unpooled.wrappedBuffer(badJson))).reason());
    assertEquals("binary_on_v1",
        assertThrows(FrameException.class, () -> v1.decodeBinary(Unpooled.wrappedBuffer(new byte[] {3}))).reason());
  }

  @Test
  void largePayloadsDecode() throws Exception {
    String big = "x".repeat(3 * 1024 * 1024);
    InboundMessage m =
        v2.decodeText(text("[\"1\",\"2\",\"realtime:r\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"e\","
            + "\"payload\":{\"s\":\"" + big + "\"}}]"));
    UserBroadcast b = UserBroadcast.fromPushPayload(m.payload());
    assertTrue(b.size() > 3 * 1024 * 1024);
  }

  @Test
  void wireFramesCarryTheRightHeaderForEveryLengthClass() {
    for (int len : new int[] {0, 125, 126, 65535, 65536}) {
      OutFrame f = new OutFrame(Unpooled.wrappedBuffer(new byte[len]), len % 2 == 0);
      ByteBuf w = f.wire(ALLOC);
      try {
        assertEquals(0x80 | (f.binary() ? 2 : 1), w.getUnsignedByte(0), "FIN and opcode");
        int b1 = w.getUnsignedByte(1);
        assertEquals(0, b1 & 0x80, "server frames are not masked");
        long declared = (b1 & 0x7F) == 126 ? w.getUnsignedShort(2) : (b1 & 0x7F) == 127 ? w.getLong(2) : b1;
        int header = (b1 & 0x7F) == 126 ? 4 : (b1 & 0x7F) == 127 ? 10 : 2;
        assertEquals(len, declared);
        assertEquals(header + len, w.readableBytes());
      } finally {
        w.release();
      }
    }
  }

  @Test
  void vsnParsing() {
    assertEquals(Vsn.V1, Vsn.parse(null).orElseThrow());
    assertEquals(Vsn.V2, Vsn.parse("2.0.0").orElseThrow());
    assertTrue(Vsn.parse("3.0.0").isEmpty());
  }
}
