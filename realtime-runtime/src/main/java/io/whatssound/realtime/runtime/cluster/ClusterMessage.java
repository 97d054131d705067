package io.whatssound.realtime.runtime.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import io.whatssound.realtime.runtime.value.StoredRef;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What pods send each other, and its binary form: a type byte, the sender's wall-clock time (for the
 * relay-lag metric) and the fields. Broadcast payloads travel as the bytes the client sent, so the
 * receiving pod encodes them once for its sockets exactly as the local path does.
 */
sealed interface ClusterMessage {

  /** A client, REST or database broadcast; {@code stored} only for rows of {@code realtime.messages}. */
  record Broadcast(TopicKey key, UserBroadcast broadcast, StoredRef stored) implements ClusterMessage {}

  /** The sender's subscription {@code owner} tracks {@code fields} under {@code presenceKey}. */
  record Track(TopicKey key, String owner, String presenceKey, String ref, ObjectNode fields)
      implements ClusterMessage {}

  /** The sender's subscription {@code owner} no longer tracks anything on the topic. */
  record Untrack(TopicKey key, String owner) implements ClusterMessage {}

  /** Every presence the sender owns; replaces what receivers knew of the sender. */
  record Snapshot(List<Track> entries) implements ClusterMessage {}

  /** A row change read from the slot; {@code lsn} and {@code index} identify it (commit LSN, position). */
  record Change(long lsn, int index, ChangeRecord change) implements ClusterMessage {}

  /** The sender's connected sockets and whether it streams the slot. */
  record Status(int users, boolean holdsSlot) implements ClusterMessage {}

  /** Asks the receiver to multicast its {@link Snapshot} (the asker missed it). */
  record SnapshotRequest() implements ClusterMessage {}

  /** A decoded message with the time its sender handed it to the cluster. */
  record Envelope(long sentAtMillis, ClusterMessage message) {}

  byte BROADCAST = 1;
  byte TRACK = 2;
  byte UNTRACK = 3;
  byte SNAPSHOT = 4;
  byte CHANGE = 5;
  byte STATUS = 6;
  byte SNAPSHOT_REQUEST = 7;

  static byte[] encode(ClusterMessage m, long nowMillis) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      if (m instanceof Broadcast b) {
        out.writeByte(BROADCAST);
        out.writeLong(nowMillis);
        key(out, b.key());
        UserBroadcast u = b.broadcast();
        string(out, u.event());
        out.writeBoolean(u.binary());
        blob(out, u.meta() == null ? null : Json.bytes(u.meta()));
        blob(out, u.payload());
        string(out, b.stored() == null ? null : b.stored().id());
        out.writeLong(b.stored() == null ? 0 : b.stored().insertedAtMicros());
      } else if (m instanceof Track t) {
        out.writeByte(TRACK);
        out.writeLong(nowMillis);
        track(out, t);
      } else if (m instanceof Untrack u) {
        out.writeByte(UNTRACK);
        out.writeLong(nowMillis);
        key(out, u.key());
        string(out, u.owner());
      } else if (m instanceof Snapshot s) {
        out.writeByte(SNAPSHOT);
        out.writeLong(nowMillis);
        out.writeInt(s.entries().size());
        for (Track t : s.entries()) {
          track(out, t);
        }
      } else if (m instanceof Change c) {
        out.writeByte(CHANGE);
        out.writeLong(nowMillis);
        out.writeLong(c.lsn());
        out.writeInt(c.index());
        blob(out, Json.bytes(changeJson(c.change())));
      } else if (m instanceof Status s) {
        out.writeByte(STATUS);
        out.writeLong(nowMillis);
        out.writeInt(s.users());
        out.writeBoolean(s.holdsSlot());
      } else if (m instanceof SnapshotRequest) {
        out.writeByte(SNAPSHOT_REQUEST);
        out.writeLong(nowMillis);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static Envelope decode(byte[] buf, int offset, int length) throws IOException {
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(buf, offset, length));
    byte type = in.readByte();
    long sentAt = in.readLong();
    ClusterMessage m =
        switch (type) {
          case BROADCAST -> {
            TopicKey key = key(in);
            String event = string(in);
            boolean binary = in.readBoolean();
            byte[] meta = blob(in);
            byte[] payload = blob(in);
            String storedId = string(in);
            long storedAt = in.readLong();
            ObjectNode metaNode = meta == null ? null : (ObjectNode) Json.MAPPER.readTree(meta);
            yield new Broadcast(key, new UserBroadcast(event, payload, binary, metaNode),
                storedId == null ? null : new StoredRef(storedId, storedAt));
          }
          case TRACK -> track(in);
          case UNTRACK -> new Untrack(key(in), string(in));
          case SNAPSHOT -> {
            int n = in.readInt();
            List<Track> entries = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
              entries.add(track(in));
            }
            yield new Snapshot(entries);
          }
          case CHANGE -> new Change(in.readLong(), in.readInt(), change(Json.MAPPER.readTree(blob(in))));
          case STATUS -> new Status(in.readInt(), in.readBoolean());
          case SNAPSHOT_REQUEST -> new SnapshotRequest();
          default -> throw new IOException("unknown cluster message type " + type);
        };
    return new Envelope(sentAt, m);
  }

  private static void track(DataOutputStream out, Track t) throws IOException {
    key(out, t.key());
    string(out, t.owner());
    string(out, t.presenceKey());
    string(out, t.ref());
    blob(out, Json.bytes(t.fields()));
  }

  private static Track track(DataInputStream in) throws IOException {
    return new Track(key(in), string(in), string(in), string(in), (ObjectNode) Json.MAPPER.readTree(blob(in)));
  }

  private static void key(DataOutputStream out, TopicKey k) throws IOException {
    string(out, k.topic());
    out.writeBoolean(k.isPrivate());
  }

  private static TopicKey key(DataInputStream in) throws IOException {
    return new TopicKey(string(in), in.readBoolean());
  }

  private static void string(DataOutputStream out, String s) throws IOException {
    blob(out, s == null ? null : s.getBytes(StandardCharsets.UTF_8));
  }

  private static String string(DataInputStream in) throws IOException {
    byte[] b = blob(in);
    return b == null ? null : new String(b, StandardCharsets.UTF_8);
  }

  private static void blob(DataOutputStream out, byte[] b) throws IOException {
    if (b == null) {
      out.writeInt(-1);
      return;
    }
    out.writeInt(b.length);
    out.write(b);
  }

  private static byte[] blob(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      return null;
    }
    byte[] b = new byte[n];
    in.readFully(b);
    return b;
  }

  static ObjectNode changeJson(ChangeRecord c) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("schema", c.schema()).put("table", c.table()).put("type", c.type()).put("ts", c.commitTimestamp());
    ArrayNode cols = o.putArray("columns");
    c.columns().forEach((name, type) -> cols.addArray().add(name).add(type));
    ArrayNode keys = o.putArray("keys");
    c.keyColumns().forEach(keys::add);
    o.set("record", c.record());
    o.set("old", c.oldRecord());
    return o;
  }

  static ChangeRecord change(JsonNode o) {
    Map<String, String> columns = new LinkedHashMap<>();
    o.path("columns").forEach(p -> columns.put(p.get(0).asText(), p.get(1).asText()));
    Set<String> keys = new LinkedHashSet<>();
    o.path("keys").forEach(k -> keys.add(k.asText()));
    return new ChangeRecord(o.path("schema").asText(), o.path("table").asText(), o.path("type").asText(),
        o.path("ts").asText(), columns, keys, row(o.get("record")), row(o.get("old")));
  }

  private static ObjectNode row(JsonNode n) {
    return n instanceof ObjectNode obj ? obj : null;
  }
}
