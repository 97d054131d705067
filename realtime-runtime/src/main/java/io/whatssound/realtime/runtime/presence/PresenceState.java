package io.whatssound.realtime.runtime.presence;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whatssound.realtime.runtime.protocol.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Who is present on one topic: presence key to the metas tracked under it, each owned by one
 * subscription. Several subscriptions (tabs) may share a key. Thread-safe.
 */
public final class PresenceState {
  private final Map<String, LinkedHashMap<String, Meta>> byKey = new HashMap<>();
  private final Map<String, String> keyOfOwner = new HashMap<>();

  /** One tracked presence: its Phoenix ref, the ref it replaced (on re-track) and the user's fields. */
  public record Meta(String ref, String prevRef, ObjectNode fields) {
    void write(JsonGenerator g) throws IOException {
      g.writeStartObject();
      g.writeStringField("phx_ref", ref);
      if (prevRef != null) {
        g.writeStringField("phx_ref_prev", prevRef);
      }
      var it = fields.fields();
      while (it.hasNext()) {
        var f = it.next();
        if (!f.getKey().equals("phx_ref") && !f.getKey().equals("phx_ref_prev")) {
          g.writeFieldName(f.getKey());
          Json.MAPPER.writeTree(g, f.getValue());
        }
      }
      g.writeEndObject();
    }
  }

  /** A change to send as {@code presence_diff}: a join, a leave, or both for a re-track. */
  public record Diff(String key, Meta join, Meta leave) {
    public void write(JsonGenerator g) throws IOException {
      g.writeStartObject();
      g.writeFieldName("joins");
      writeOne(g, join);
      g.writeFieldName("leaves");
      writeOne(g, leave);
      g.writeEndObject();
    }

    private void writeOne(JsonGenerator g, Meta m) throws IOException {
      g.writeStartObject();
      if (m != null) {
        g.writeFieldName(key);
        g.writeStartObject();
        g.writeArrayFieldStart("metas");
        m.write(g);
        g.writeEndArray();
        g.writeEndObject();
      }
      g.writeEndObject();
    }
  }

  /**
   * Tracks {@code fields} for {@code owner} under {@code key}. Returns the diff to send, or empty when
   * the owner already tracks identical fields under that key.
   */
  public synchronized Optional<Diff> track(String owner, String key, ObjectNode fields, String newRef) {
    String oldKey = keyOfOwner.get(owner);
    Meta old = oldKey == null ? null : byKey.get(oldKey).get(owner);
    if (old != null && oldKey.equals(key) && old.fields().equals(fields)) {
      return Optional.empty();
    }
    if (old != null && !oldKey.equals(key)) {
      remove(owner);
      old = null;
    }
    Meta meta = new Meta(newRef, old == null ? null : old.ref(), fields.deepCopy());
    byKey.computeIfAbsent(key, k -> new LinkedHashMap<>()).put(owner, meta);
    keyOfOwner.put(owner, key);
    return Optional.of(new Diff(key, meta, old));
  }

  /** Removes the owner's presence; empty when it tracked nothing. */
  public synchronized Optional<Diff> untrack(String owner) {
    String key = keyOfOwner.get(owner);
    if (key == null) {
      return Optional.empty();
    }
    Meta old = remove(owner);
    return Optional.of(new Diff(key, null, old));
  }

  private Meta remove(String owner) {
    String key = keyOfOwner.remove(owner);
    LinkedHashMap<String, Meta> metas = byKey.get(key);
    Meta old = metas.remove(owner);
    if (metas.isEmpty()) {
      byKey.remove(key);
    }
    return old;
  }

  /** Writes the {@code presence_state} payload: {@code {key: {metas: [...]}}}. */
  public synchronized void writeState(JsonGenerator g) throws IOException {
    g.writeStartObject();
    for (Map.Entry<String, LinkedHashMap<String, Meta>> e : byKey.entrySet()) {
      g.writeFieldName(e.getKey());
      g.writeStartObject();
      g.writeArrayFieldStart("metas");
      for (Meta m : e.getValue().values()) {
        m.write(g);
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    g.writeEndObject();
  }

  public synchronized List<String> keys() {
    return new ArrayList<>(byKey.keySet());
  }
}
