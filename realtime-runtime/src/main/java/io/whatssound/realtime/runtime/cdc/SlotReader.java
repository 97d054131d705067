package io.whatssound.realtime.runtime.cdc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whatssound.realtime.runtime.channel.Broadcaster;
import io.whatssound.realtime.runtime.db.RuntimeDatabase;
import io.whatssound.realtime.runtime.history.MessageStore;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the slot's pgoutput messages (on the stream's thread, in order): keeps the relations and types they
 * describe, turns row changes into {@link ChangeRecord}s routed to this pod's bindings and then handed to the other
 * pods, and hands rows inserted into {@code realtime.messages} to {@link StoredBroadcasts}.
 */
final class SlotReader {
  private static final Logger LOG = LoggerFactory.getLogger(SlotReader.class);
  private static final DateTimeFormatter COMMIT_TS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
  /** Changes of one transaction routed together at most (a large transaction is routed in parts). */
  private static final int MAX_PENDING = 512;

  private final RuntimeDatabase db;
  private final ChangeRouter router;
  private final Broadcaster broadcaster;
  private final StoredBroadcasts stored;
  private final Map<Integer, PgOutputMessage.Relation> relations = new ConcurrentHashMap<>();
  private final Map<Integer, String> typeNames = new ConcurrentHashMap<>();
  private String commitTimestamp = COMMIT_TS.format(Instant.EPOCH);
  /** Changes of the current transaction not yet routed. */
  private final List<ChangeRecord> pending = new ArrayList<>();
  /** The transaction the pending changes belong to. */
  private long xid;
  /** The current transaction stores history: its rows of {@code realtime.messages} went out live already. */
  private boolean storedHistory;

  SlotReader(RuntimeDatabase db, ChangeRouter router, Broadcaster broadcaster, StoredBroadcasts stored) {
    this.db = db;
    this.router = router;
    this.broadcaster = broadcaster;
    this.stored = stored;
  }

  void message(PgOutputMessage m) {
    if (m instanceof PgOutputMessage.Begin b) {
      pending.clear();
      storedHistory = false;
      xid = b.xid();
      commitTimestamp = COMMIT_TS.format(b.commitTime());
    } else if (m instanceof PgOutputMessage.Commit) {
      flushPending();
    } else if (m instanceof PgOutputMessage.LogicalMessage lm) {
      if (lm.transactional() && MessageStore.WAL_MARKER.equals(lm.prefix())) {
        storedHistory = true;
      }
    } else if (m instanceof PgOutputMessage.Relation r) {
      relations.put(r.oid(), r);
    } else if (m instanceof PgOutputMessage.Type t) {
      typeNames.put(t.oid(), t.name());
    } else if (m instanceof PgOutputMessage.Insert i) {
      change(i.relation(), "INSERT", i.newTuple(), null, false);
    } else if (m instanceof PgOutputMessage.Update u) {
      change(u.relation(), "UPDATE", u.newTuple(), u.oldTuple(), u.oldIsKeyOnly());
    } else if (m instanceof PgOutputMessage.Delete d) {
      change(d.relation(), "DELETE", null, d.oldTuple(), d.keyOnly());
    }
  }

  private void change(
      int relationOid, String type, PgOutputMessage.Tuple newTuple, PgOutputMessage.Tuple oldTuple, boolean keyOnly) {
    PgOutputMessage.Relation rel = relations.get(relationOid);
    if (rel == null) {
      LOG.warn("Change for unknown relation {} skipped", relationOid);
      return;
    }
    if (rel.schema().equals("realtime")) {
      if (rel.table().equals("messages") && newTuple != null && !storedHistory) {
        stored.inserted(texts(rel, newTuple));
      }
      return;
    }
    Map<String, String> columns = new LinkedHashMap<>();
    Set<String> keys = new LinkedHashSet<>();
    for (PgOutputMessage.Column col : rel.columns()) {
      columns.put(col.name(), typeName(col.typeOid()));
      if (col.key()) {
        keys.add(col.name());
      }
    }
    ObjectNode record = newTuple == null ? null : row(rel, columns, newTuple);
    ObjectNode old = oldTuple == null ? null : row(rel, columns, oldTuple);
    if (record != null && old != null) {
      unchangedFromOld(rel, newTuple, record, old);
    }
    if (old != null && keyOnly) {
      old.retain(keys);
    }
    if ("UPDATE".equals(type) && old == null) {
      old = Json.MAPPER.createObjectNode();
      for (String k : keys) {
        JsonNode v = record.get(k);
        if (v != null) {
          old.set(k, v);
        }
      }
    }
    pending.add(new ChangeRecord(rel.schema(), rel.table(), type, commitTimestamp, columns, keys, record, old));
    if (pending.size() >= MAX_PENDING) {
      flushPending();
    }
  }

  /**
   * Routes the changes read since the last flush (one transaction, or part of a large one) together, so
   * that row security is checked once per claims group and table for all of them; then relays them to the
   * other pods. Runs before the transaction's end is acknowledged.
   */
  private void flushPending() {
    if (pending.isEmpty()) {
      return;
    }
    try {
      router.routeAll(pending, xid);
      for (ChangeRecord c : pending) {
        broadcaster.changeRouted(c);
      }
    } finally {
      pending.clear();
    }
  }

  /**
   * An UPDATE leaves out a TOASTed value it did not change. When the old row carries it (REPLICA IDENTITY FULL),
   * the new row gets it from there, as Supabase does; otherwise the column stays out of {@code record}.
   */
  private static void unchangedFromOld(
      PgOutputMessage.Relation rel, PgOutputMessage.Tuple newTuple, ObjectNode record, ObjectNode old) {
    List<PgOutputMessage.TupleValue> values = newTuple.values();
    for (int i = 0; i < rel.columns().size() && i < values.size(); i++) {
      String name = rel.columns().get(i).name();
      if (values.get(i).isUnchangedToast() && old.has(name)) {
        record.set(name, old.get(name));
      }
    }
  }

  /** A tuple's columns as text (null for SQL null and for values not sent as text). */
  private static Map<String, String> texts(PgOutputMessage.Relation rel, PgOutputMessage.Tuple tuple) {
    Map<String, String> v = new LinkedHashMap<>();
    for (int i = 0; i < rel.columns().size() && i < tuple.values().size(); i++) {
      PgOutputMessage.TupleValue tv = tuple.values().get(i);
      v.put(rel.columns().get(i).name(), tv.kind() == PgOutputMessage.TupleValue.Kind.TEXT ? tv.text() : null);
    }
    return v;
  }

  private ObjectNode row(PgOutputMessage.Relation rel, Map<String, String> columns, PgOutputMessage.Tuple tuple) {
    ObjectNode out = Json.MAPPER.createObjectNode();
    List<PgOutputMessage.Column> cols = rel.columns();
    List<PgOutputMessage.TupleValue> values = tuple.values();
    for (int i = 0; i < cols.size() && i < values.size(); i++) {
      PgOutputMessage.TupleValue v = values.get(i);
      String name = cols.get(i).name();
      switch (v.kind()) {
        case NULL -> out.putNull(name);
        case TEXT -> out.set(name, value(columns.get(name), v.text()));
        case BINARY -> out.put(name, HexFormat.of().formatHex(v.binary()));
        case UNCHANGED_TOAST -> { }
      }
    }
    return out;
  }

  private static JsonNode value(String type, String text) {
    try {
      return PgValues.toJson(type, text);
    } catch (IllegalArgumentException e) {
      LOG.warn("Sent a {} value as text: {}", type, e.getMessage());
      return Json.MAPPER.getNodeFactory().textNode(text);
    }
  }

  private String typeName(int oid) {
    Optional<String> builtin = PgTypes.name(oid);
    if (builtin.isPresent()) {
      return builtin.get();
    }
    return typeNames.computeIfAbsent(oid, this::lookupType);
  }

  private String lookupType(int oid) {
    try (Connection c = db.queries().getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT typname FROM pg_type WHERE oid = ?")) {
      ps.setInt(1, oid);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : "unknown";
      }
    } catch (SQLException e) {
      LOG.warn("Could not look up type {}: {}", oid, e.getMessage());
      return "unknown";
    }
  }
}
