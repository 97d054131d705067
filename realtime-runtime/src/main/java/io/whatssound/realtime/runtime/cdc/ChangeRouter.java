package io.whatssound.realtime.runtime.cdc;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.channel.SharedPush;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.channel.TopicRegistry;
import io.whatssound.realtime.runtime.protocol.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Routes row changes to the bindings that match them. Bindings are indexed by {@code schema.table}
 * (with {@code *} for either); a change is encoded once per distinct (ids, columns, form) and written
 * to its subscriptions by one task per event loop.
 */
final class ChangeRouter {
  static final int MAX_RECORD_BYTES = 1024 * 1024;
  static final int TRUNCATED_VALUE_BYTES = 64;

  private final Map<String, CopyOnWriteArrayList<Binding>> byTable = new ConcurrentHashMap<>();
  private final TopicRegistry topics;
  private final ByteBufAllocator alloc;

  private final java.util.Optional<RowSecurity> security;

  ChangeRouter(TopicRegistry topics, ByteBufAllocator alloc, java.util.Optional<RowSecurity> security) {
    this.topics = topics;
    this.alloc = alloc;
    this.security = security;
  }

  void add(List<Binding> bindings) {
    for (Binding b : bindings) {
      byTable.computeIfAbsent(b.routingKey(), k -> new CopyOnWriteArrayList<>()).add(b);
    }
  }

  void remove(Subscription sub) {
    for (CopyOnWriteArrayList<Binding> list : byTable.values()) {
      list.removeIf(b -> b.sub() == sub);
    }
  }

  int bindingCount() {
    return byTable.values().stream().mapToInt(List::size).sum();
  }

  /** Delivers a change to every subscription with a matching binding; returns how many subscriptions. */
  int route(ChangeRecord c) {
    Map<Subscription, List<Binding>> matched = new LinkedHashMap<>();
    for (String key : List.of(c.schema() + "." + c.table(), c.schema() + ".*", "*.*")) {
      List<Binding> list = byTable.get(key);
      if (list == null) {
        continue;
      }
      for (Binding b : list) {
        if (b.matches(c)) {
          matched.computeIfAbsent(b.sub(), s -> new ArrayList<>()).add(b);
        }
      }
    }
    if (matched.isEmpty()) {
      return 0;
    }
    Map<Form, List<Subscription>> byForm =
        security.isPresent() ? authorize(c, matched, security.get()) : new LinkedHashMap<>();
    if (security.isEmpty()) {
      for (Map.Entry<Subscription, List<Binding>> e : matched.entrySet()) {
        byForm.computeIfAbsent(Form.of(e.getValue(), null), f -> new ArrayList<>()).add(e.getKey());
      }
    }
    Map<Set<String>, byte[]> dataBySelect = new LinkedHashMap<>();
    for (Map.Entry<Form, List<Subscription>> e : byForm.entrySet()) {
      Form form = e.getKey();
      byte[] data = dataBySelect.computeIfAbsent(form.select(), sel -> data(c, sel));
      String event = form.legacy() ? c.type() : "postgres_changes";
      deliverPerTopic(e.getValue(), form, data, event);
    }
    return byForm.values().stream().mapToInt(List::size).sum();
  }

  /**
   * Keeps the subscriptions whose role and claims may see the row, one check per group of identical
   * role and claims: column privileges always (cached per role and table), row-level security when the
   * table has it on. A DELETE cannot be checked (the row is gone): with RLS on it carries the key only.
   */
  private Map<Form, List<Subscription>> authorize(
      ChangeRecord c, Map<Subscription, List<Binding>> matched, RowSecurity rs) {
    Map<String, List<Subscription>> groups = new LinkedHashMap<>();
    for (Subscription s : matched.keySet()) {
      groups.computeIfAbsent(s.claimsGroup(RowSecurity::groupKey), g -> new ArrayList<>()).add(s);
    }
    boolean rls = rs.enabled(c.schema(), c.table());
    boolean delete = "DELETE".equals(c.type());
    List<String> keyColumns = List.copyOf(c.keyColumns());
    List<String> key = rls && !delete ? keyValues(c.record(), keyColumns) : null;
    Map<Form, List<Subscription>> byForm = new LinkedHashMap<>();
    for (List<Subscription> group : groups.values()) {
      var member = group.get(0).token();
      Set<String> allowed = rs.selectable(member.role(), c.schema(), c.table());
      if (allowed.isEmpty()) {
        continue;
      }
      if (rls && !delete
          && (key == null || !rs.visible(member, c.schema(), c.table(), keyColumns, c.columns(), List.of(key))
              .contains(key))) {
        continue;
      }
      Set<String> restrict = rls && delete ? c.keyColumns() : allowed.containsAll(c.columns().keySet()) ? null : allowed;
      for (Subscription s : group) {
        byForm.computeIfAbsent(Form.of(matched.get(s), restrict), f -> new ArrayList<>()).add(s);
      }
    }
    return byForm;
  }

  /** The key of a row as text, or null when a key value is missing. */
  private static List<String> keyValues(ObjectNode row, List<String> keyColumns) {
    if (row == null || keyColumns.isEmpty()) {
      return null;
    }
    List<String> out = new ArrayList<>(keyColumns.size());
    for (String k : keyColumns) {
      var v = row.get(k);
      if (v == null || v.isNull()) {
        return null;
      }
      out.add(v.isTextual() ? v.textValue() : v.toString());
    }
    return out;
  }

  /** Subscriptions differ in topic, so frames are shared among those of the same topic. */
  private void deliverPerTopic(List<Subscription> subs, Form form, byte[] data, String event) {
    Map<String, List<Subscription>> byTopic = new LinkedHashMap<>();
    for (Subscription s : subs) {
      byTopic.computeIfAbsent(s.topicName(), t -> new ArrayList<>()).add(s);
    }
    String dataText = new String(data, java.nio.charset.StandardCharsets.UTF_8);
    for (Map.Entry<String, List<Subscription>> e : byTopic.entrySet()) {
      String topic = e.getKey();
      Json.GeneratorWriter payload =
          form.legacy()
              ? g -> g.writeRawValue(dataText)
              : g -> {
                g.writeStartObject();
                g.writeArrayFieldStart("ids");
                for (int id : form.ids()) {
                  g.writeNumber(id);
                }
                g.writeEndArray();
                g.writeFieldName("data");
                g.writeRawValue(dataText);
                g.writeEndObject();
              };
      SharedPush push = new SharedPush(alloc, (codec, a) -> codec.encode(a, null, null, topic, event, payload));
      topics.deliverTo(e.getValue(), push, "postgres_changes");
    }
  }

  /** The {@code data} object of a change, with selected columns, over-size values cut (413 rule). */
  static byte[] data(ChangeRecord c, Set<String> select) {
    ObjectNode record = project(c.record(), select, c.keyColumns());
    ObjectNode old = project(c.oldRecord(), select, c.keyColumns());
    byte[] full = render(c, select, record, old, false);
    if (full.length <= MAX_RECORD_BYTES) {
      return full;
    }
    return render(c, select, truncate(record), truncate(old), true);
  }

  private static ObjectNode project(ObjectNode row, Set<String> select, Set<String> keys) {
    if (row == null || select.isEmpty()) {
      return row;
    }
    ObjectNode out = Json.MAPPER.createObjectNode();
    row.fields().forEachRemaining(f -> {
      if (select.contains(f.getKey()) || keys.contains(f.getKey())) {
        out.set(f.getKey(), f.getValue());
      }
    });
    return out;
  }

  private static ObjectNode truncate(ObjectNode row) {
    if (row == null) {
      return null;
    }
    ObjectNode out = Json.MAPPER.createObjectNode();
    row.fields().forEachRemaining(f -> {
      if (Json.bytes(f.getValue()).length <= TRUNCATED_VALUE_BYTES) {
        out.set(f.getKey(), f.getValue());
      }
    });
    return out;
  }

  private static byte[] render(
      ChangeRecord c, Set<String> select, ObjectNode record, ObjectNode old, boolean tooLarge) {
    ObjectNode d = Json.MAPPER.createObjectNode();
    d.put("schema", c.schema());
    d.put("table", c.table());
    d.put("commit_timestamp", c.commitTimestamp());
    d.put("type", c.type());
    var cols = d.putArray("columns");
    c.columns().forEach((name, type) -> {
      if (select.isEmpty() || select.contains(name) || c.keyColumns().contains(name)) {
        cols.addObject().put("name", name).put("type", type);
      }
    });
    if (record != null) {
      d.set("record", record);
    }
    if (old != null) {
      d.set("old_record", old);
    }
    if (tooLarge) {
      d.putArray("errors").add("Error 413: Payload Too Large");
    } else {
      d.putNull("errors");
    }
    return Json.bytes(d);
  }

  /** How a subscription receives a change: which binding ids, which columns, legacy or current form. */
  record Form(List<Integer> ids, Set<String> select, boolean legacy) {
    /** {@code restrict}: the only columns that may be sent (column privileges), or null for all. */
    static Form of(List<Binding> bindings, Set<String> restrict) {
      List<Integer> ids = new ArrayList<>();
      Set<String> select = new TreeSet<>();
      boolean all = false;
      boolean legacy = false;
      for (Binding b : bindings) {
        ids.add(b.id());
        legacy |= b.legacy();
        if (b.select().isEmpty()) {
          all = true;
        } else {
          select.addAll(b.select());
        }
      }
      Set<String> columns = all ? Set.of() : Set.copyOf(select);
      if (restrict != null) {
        Set<String> limited = new TreeSet<>(all ? restrict : select);
        limited.retainAll(restrict);
        // an empty selection means every column; a selection naming no real column sends the keys only
        columns = limited.isEmpty() ? Set.of("") : Set.copyOf(limited);
      }
      return new Form(List.copyOf(ids), columns, legacy);
    }
  }
}
