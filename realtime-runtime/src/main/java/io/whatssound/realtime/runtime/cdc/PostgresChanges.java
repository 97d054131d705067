package io.whatssound.realtime.runtime.cdc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.channel.Broadcaster;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.channel.TopicRegistry;
import io.whatssound.realtime.runtime.db.RuntimeDatabase;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import io.whatssound.realtime.runtime.value.StoredRef;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Postgres Changes, database broadcasts and replay for one tenant: consumes the replication stream,
 * turns row changes into {@code postgres_changes} messages for matching bindings, turns rows inserted
 * into {@code realtime.messages} into broadcasts, and answers replay requests.
 */
public final class PostgresChanges implements ReplicationStream.Sink {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresChanges.class);
  public static final String SUBSCRIBED = "Subscribed to PostgreSQL";
  private static final DateTimeFormatter COMMIT_TS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
  private static final Set<String> EVENTS = Set.of("*", "INSERT", "UPDATE", "DELETE");
  public static final int MAX_REPLAY = 25;

  private final RuntimeDatabase db;
  private final TopicRegistry topics;
  private final Broadcaster broadcaster;
  private final ChangeRouter router;
  private final ByteBufAllocator alloc;
  private final Map<Integer, PgOutputMessage.Relation> relations = new ConcurrentHashMap<>();
  private final Map<Integer, String> typeNames = new ConcurrentHashMap<>();
  private volatile CompletableFuture<Void> live = new CompletableFuture<>();
  private String commitTimestamp = COMMIT_TS.format(Instant.EPOCH);
  /** Changes of the current transaction not yet routed (stream thread only). */
  private final List<ChangeRecord> pending = new ArrayList<>();
  /** The transaction the pending changes belong to. */
  private long xid;
  private static final int MAX_PENDING = 512;

  public PostgresChanges(RuntimeDatabase db, TopicRegistry topics, Broadcaster broadcaster, ByteBufAllocator alloc) {
    this.db = db;
    this.topics = topics;
    this.broadcaster = broadcaster;
    this.router =
        new ChangeRouter(topics, alloc, java.util.Optional.of(new RowSecurity(db.queries(), java.time.Clock.systemUTC())));
    this.alloc = alloc;
  }

  // ---- subscriptions

  /** A requested binding as the client sent it, before validation. */
  public record Request(String event, String schema, String table, String filter, Set<String> select) {

    /** Reads {@code {"event","schema","table"?,"filter"?,"select"?}}. */
    public static Request of(ObjectNode b) {
      Set<String> select = new LinkedHashSet<>();
      JsonNode sel = b.path("select");
      if (sel.isArray()) {
        sel.forEach(n -> select.add(n.asText()));
      } else if (sel.isTextual()) {
        for (String s : sel.textValue().split(",")) {
          if (!s.isBlank()) {
            select.add(s.trim());
          }
        }
      }
      return new Request(
          b.path("event").asText("*"), b.path("schema").asText(""),
          text(b.path("table")).orElse("*"), text(b.path("filter")).orElse(null), select);
    }

    /** The legacy form: the sub-topic {@code schema[:table[:filter]]} of a join without config. */
    public static Request legacy(String subTopic) {
      String[] parts = subTopic.split(":", 3);
      return new Request("*", parts[0], parts.length > 1 ? parts[1] : "*", parts.length > 2 ? parts[2] : null, Set.of());
    }

    private static Optional<String> text(JsonNode n) {
      return n.isTextual() && !n.textValue().isBlank() ? Optional.of(n.textValue()) : Optional.empty();
    }
  }

  /**
   * Validates the bindings against the published tables (off the event loop) and starts routing
   * changes to them. Completes with empty once live, or with the error to report to the client.
   */
  public CompletableFuture<Optional<String>> subscribe(Subscription sub, List<Request> requests, boolean legacy) {
    return CompletableFuture.supplyAsync(() -> validate(sub, requests, legacy), db.executor())
        .thenCompose(
            result -> {
              if (result.error().isPresent()) {
                return CompletableFuture.completedFuture(result.error());
              }
              router.add(result.bindings());
              return live.thenApply(v -> Optional.<String>empty());
            });
  }

  private record Validated(List<Binding> bindings, Optional<String> error) {}

  private Validated validate(Subscription sub, List<Request> requests, boolean legacy) {
    Map<String, Map<String, String>> tables;
    try {
      tables = publishedColumns();
    } catch (SQLException e) {
      LOG.warn("Could not read the published tables: {}", e.getMessage());
      return new Validated(List.of(), Optional.of("Unable to reach the database to subscribe to changes; try again"));
    }
    List<Binding> out = new ArrayList<>();
    for (int i = 0; i < requests.size(); i++) {
      Request r = requests.get(i);
      String event = r.event().toUpperCase(Locale.ROOT);
      if (!EVENTS.contains(event)) {
        return invalid("event must be *, INSERT, UPDATE or DELETE, got \"" + r.event() + "\"");
      }
      if (r.schema().isEmpty()) {
        return invalid("a postgres_changes binding needs a schema");
      }
      Optional<ChangeFilter> filter = Optional.empty();
      if (!r.table().equals("*")) {
        Map<String, String> columns = tables.get(r.schema() + "." + r.table());
        if (columns == null) {
          return invalid("Unable to subscribe to changes with given parameters. Please check Realtime is enabled for "
              + "the given connect parameters: [schema: " + r.schema() + ", table: " + r.table() + ", filters: ["
              + (r.filter() == null ? "" : r.filter()) + "]] (add the table to the publication "
              + db.settings().contract().publication() + ")");
        }
        if (r.filter() != null) {
          try {
            ChangeFilter f = ChangeFilter.parse(r.filter());
            f.validate(columns);
            filter = Optional.of(f);
          } catch (IllegalArgumentException e) {
            return invalid(e.getMessage());
          }
        }
      } else if (r.filter() != null) {
        return invalid("filters need a table: \"" + r.filter() + "\" was given for every table of " + r.schema());
      }
      out.add(new Binding(i + 1, event, r.schema(), r.table(), filter, Set.copyOf(r.select()), legacy, sub));
    }
    return new Validated(out, Optional.empty());
  }

  private static Validated invalid(String message) {
    return new Validated(List.of(), Optional.of(message));
  }

  /** Published {@code schema.table} → column → type name. */
  private Map<String, Map<String, String>> publishedColumns() throws SQLException {
    Map<String, Map<String, String>> out = new LinkedHashMap<>();
    try (Connection c = db.queries().getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT pt.schemaname, pt.tablename, a.attname, t.typname "
                    + "FROM pg_publication_tables pt "
                    + "JOIN pg_namespace n ON n.nspname = pt.schemaname "
                    + "JOIN pg_class cl ON cl.relnamespace = n.oid AND cl.relname = pt.tablename "
                    + "JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped "
                    + "JOIN pg_type t ON t.oid = a.atttypid "
                    + "WHERE pt.pubname = ? ORDER BY pt.schemaname, pt.tablename, a.attnum")) {
      ps.setString(1, db.settings().contract().publication());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.computeIfAbsent(rs.getString(1) + "." + rs.getString(2), k -> new LinkedHashMap<>())
              .put(rs.getString(3), rs.getString(4));
        }
      }
    }
    return out;
  }

  public void unsubscribe(Subscription sub) {
    router.remove(sub);
  }

  /** The subscription now acts with another token: row security must group it anew. */
  public void tokenChanged(Subscription sub) {
    router.invalidate();
  }

  /** A change another pod read from the slot: route it to this pod's bindings. */
  public void routeRelayed(ChangeRecord change) {
    router.route(change);
  }

  // ---- replay

  /** A stored broadcast. */
  public record Stored(String id, UserBroadcast broadcast) {}

  /** The topic's stored broadcasts since {@code sinceMillis}, oldest first, at most {@link #MAX_REPLAY}. */
  public CompletableFuture<List<Stored>> replay(TopicKey key, long sinceMillis, int limit) {
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
            ps.setTimestamp(3, Timestamp.valueOf(
                java.time.LocalDateTime.ofInstant(Instant.ofEpochMilli(sinceMillis), ZoneOffset.UTC)));
            ps.setInt(4, n);
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                ObjectNode meta = Json.MAPPER.createObjectNode().put("id", rs.getString(1)).put("replayed", true);
                out.add(new Stored(rs.getString(1),
                    broadcast(rs.getString(2), rs.getString(3), rs.getBytes(4), meta)));
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
    byte[] payload = (payloadJson == null ? "{}" : payloadJson).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return new UserBroadcast(e, payload, false, meta);
  }

  // ---- the stream

  @Override
  public void live(boolean isLive) {
    if (isLive) {
      live.complete(null);
    } else if (live.isDone()) {
      live = new CompletableFuture<>();
    }
  }

  @Override
  public void message(PgOutputMessage m) {
    if (m instanceof PgOutputMessage.Begin b) {
      pending.clear();
      xid = b.xid();
      commitTimestamp = COMMIT_TS.format(b.commitTime());
    } else if (m instanceof PgOutputMessage.Commit) {
      flushPending();
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
      if (rel.table().equals("messages") && newTuple != null) {
        storedBroadcast(rel, newTuple);
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

  private void storedBroadcast(PgOutputMessage.Relation rel, PgOutputMessage.Tuple tuple) {
    Map<String, String> v = new LinkedHashMap<>();
    for (int i = 0; i < rel.columns().size() && i < tuple.values().size(); i++) {
      PgOutputMessage.TupleValue tv = tuple.values().get(i);
      v.put(rel.columns().get(i).name(), tv.kind() == PgOutputMessage.TupleValue.Kind.TEXT ? tv.text() : null);
    }
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

  /** {@code inserted_at} is a UTC timestamp without zone, e.g. {@code 2026-01-02 03:04:05.678}. */
  static long epochMillis(String timestamp) {
    if (timestamp == null) {
      return Long.MAX_VALUE;
    }
    return java.time.LocalDateTime.parse(timestamp.replace(' ', 'T')).toInstant(ZoneOffset.UTC).toEpochMilli();
  }

  private static byte[] hex(String byteaText) {
    String h = byteaText.startsWith("\\x") ? byteaText.substring(2) : byteaText;
    return HexFormat.of().parseHex(h);
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

  int bindingCount() {
    return router.bindingCount();
  }
}
