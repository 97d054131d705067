package io.whatssound.realtime.runtime.cdc;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.channel.Broadcaster;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.EpochMicros;
import io.whatssound.realtime.runtime.value.StoredRef;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Map;

/**
 * Broadcasts stored in {@code realtime.messages}: a row the slot shows inserted goes out as a broadcast (through the
 * {@link Broadcaster}, so to every pod). Replays read the rows through the
 * history ({@code MessageStore}).
 */
public final class StoredBroadcasts {
  private final Broadcaster broadcaster;
  private final ByteBufAllocator alloc;

  StoredBroadcasts(Broadcaster broadcaster, ByteBufAllocator alloc) {
    this.broadcaster = broadcaster;
    this.alloc = alloc;
  }

  /**
   * A row inserted into {@code realtime.messages}, as the slot gives it (column → text, null for SQL null): a
   * broadcast when its extension is {@code broadcast}. Runs on the stream's thread.
   */
  void inserted(Map<String, String> v) {
    if (!"broadcast".equals(v.get("extension")) || v.get("topic") == null) {
      return;
    }
    String id = v.get("id");
    byte[] binary = v.get("binary_payload") == null ? null : hex(v.get("binary_payload"));
    ObjectNode meta = Json.MAPPER.createObjectNode().put("id", id);
    UserBroadcast b = broadcast(v.get("event"), v.get("payload"), binary, meta);
    TopicKey key = TopicKey.ofSubTopic(v.get("topic"), "t".equals(v.get("private")));
    broadcaster.fromDatabase(key, b, new StoredRef(id, epochMicros(v.get("inserted_at"))), alloc);
  }

  private static UserBroadcast broadcast(String event, String payloadJson, byte[] binary, ObjectNode meta) {
    String e = event == null ? "" : event;
    if (binary != null) {
      return new UserBroadcast(e, binary, true, meta);
    }
    byte[] payload = (payloadJson == null ? "{}" : payloadJson).getBytes(StandardCharsets.UTF_8);
    return new UserBroadcast(e, payload, false, meta);
  }

  /** {@code inserted_at} is a UTC timestamp without zone, e.g. {@code 2026-01-02 03:04:05.678}. */
  static long epochMicros(String timestamp) {
    return timestamp == null ? Long.MAX_VALUE : EpochMicros.parseSql(timestamp);
  }

  private static byte[] hex(String byteaText) {
    String h = byteaText.startsWith("\\x") ? byteaText.substring(2) : byteaText;
    return HexFormat.of().parseHex(h);
  }
}
