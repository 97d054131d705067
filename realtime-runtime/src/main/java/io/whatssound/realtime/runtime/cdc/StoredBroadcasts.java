package io.whatssound.realtime.runtime.cdc;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.channel.Broadcaster;
import io.whatssound.realtime.runtime.db.RuntimeDatabase;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.StoredRef;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Broadcasts stored in {@code realtime.messages}: a row the slot shows inserted goes out as a broadcast (through the
 * {@link Broadcaster}, so to every pod), and a join that asks for replay reads the topic's recent rows.
 */
public final class StoredBroadcasts {
  private static final Logger LOG = LoggerFactory.getLogger(StoredBroadcasts.class);
  /** The most messages one replay sends, as Supabase Realtime. */
  static final int MAX_REPLAY = 25;

  /** A stored broadcast. */
  public record Stored(String id, UserBroadcast broadcast) {}

  private final RuntimeDatabase db;
  private final Broadcaster broadcaster;
  private final ByteBufAllocator alloc;

  StoredBroadcasts(RuntimeDatabase db, Broadcaster broadcaster, ByteBufAllocator alloc) {
    this.db = db;
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
    broadcaster.fromDatabase(key, b, new StoredRef(id, epochMillis(v.get("inserted_at"))), alloc);
  }

  /** The topic's stored broadcasts since {@code sinceMillis}, oldest first, at most {@link #MAX_REPLAY}. */
  CompletableFuture<List<Stored>> replay(TopicKey key, long sinceMillis, int limit) {
    int n = Math.max(0, Math.min(limit, MAX_REPLAY));
    return CompletableFuture.supplyAsync(
        () -> {
          List<Stored> out = new ArrayList<>();
          try (Connection c = db.queries().getConnection();
              PreparedStatement ps =
                  c.prepareStatement(
                      "SELECT id::text, event, payload::text, binary_payload FROM realtime.messages "
                          + "WHERE topic = ? AND private = ? AND extension = 'broadcast' AND inserted_at >= ? "
                          + "ORDER BY inserted_at DESC, id LIMIT ?")) {
            ps.setString(1, key.subTopic());
            ps.setBoolean(2, key.isPrivate());
            ps.setTimestamp(3, Timestamp.valueOf(LocalDateTime.ofInstant(Instant.ofEpochMilli(sinceMillis), ZoneOffset.UTC)));
            ps.setInt(4, n);
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                ObjectNode meta = Json.MAPPER.createObjectNode().put("id", rs.getString(1)).put("replayed", true);
                out.add(new Stored(rs.getString(1), broadcast(rs.getString(2), rs.getString(3), rs.getBytes(4), meta)));
              }
            }
          } catch (SQLException e) {
            LOG.warn("Replay of {} failed: {}", key.topic(), e.getMessage());
          }
          Collections.reverse(out);
          return out;
        },
        db.executor());
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
  static long epochMillis(String timestamp) {
    if (timestamp == null) {
      return Long.MAX_VALUE;
    }
    return LocalDateTime.parse(timestamp.replace(' ', 'T')).toInstant(ZoneOffset.UTC).toEpochMilli();
  }

  private static byte[] hex(String byteaText) {
    String h = byteaText.startsWith("\\x") ? byteaText.substring(2) : byteaText;
    return HexFormat.of().parseHex(h);
  }
}
