package io.whatssound.realtime.runtime.cdc;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.channel.SharedPush;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.channel.TopicRegistry;
import io.whatssound.realtime.runtime.protocol.ChangePayload;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Routes row changes to the bindings that match them. Bindings are indexed by {@code schema.table}
 * (with {@code *} for either); a change is encoded once per distinct (ids, columns, form) and written
 * to its subscriptions by one task per event loop.
 */
final class ChangeRouter {
  private final Map<String, CopyOnWriteArrayList<Binding>> byTable = new ConcurrentHashMap<>();
  private final AtomicLong version = new AtomicLong();
  private final Map<String, Plan> plans = new ConcurrentHashMap<>();
  private final TopicRegistry topics;
  private final ByteBufAllocator alloc;

  private final Optional<RowSecurity> security;

  ChangeRouter(TopicRegistry topics, ByteBufAllocator alloc, Optional<RowSecurity> security) {
    this.topics = topics;
    this.alloc = alloc;
    this.security = security;
  }

  void add(List<Binding> bindings) {
    for (Binding b : bindings) {
      byTable.computeIfAbsent(b.routingKey(), k -> new CopyOnWriteArrayList<>()).add(b);
    }
    version.incrementAndGet();
  }

  void remove(Subscription sub) {
    for (CopyOnWriteArrayList<Binding> list : byTable.values()) {
      list.removeIf(b -> b.sub() == sub);
    }
    version.incrementAndGet();
  }

  /** A subscription's token changed: its claims group may differ, so prepared plans are rebuilt. */
  void invalidate() {
    version.incrementAndGet();
  }

  int bindingCount() {
    return byTable.values().stream().mapToInt(List::size).sum();
  }

  /** Subscriptions by claims group, then by how they receive a change, then by topic. */
  private static final class Targets {
    final Map<String, Map<Form, Map<String, List<Subscription>>>> byGroup = new LinkedHashMap<>();

    void add(String group, Form form, Subscription s) {
      byGroup.computeIfAbsent(group, g -> new LinkedHashMap<>())
          .computeIfAbsent(form, f -> new LinkedHashMap<>())
          .computeIfAbsent(s.topicName(), t -> new ArrayList<>())
          .add(s);
    }
  }

  /**
   * What a change of one table and type reaches, prepared once until bindings change: subscriptions
   * whose matching bindings have no filter are grouped in advance ({@code fixed}); only bindings with
   * filters ({@code filtered}) are evaluated per change. Routing then costs per group, not per subscriber.
   */
  private record Plan(long version, Targets fixed, List<Binding> filtered) {}

  private Plan plan(String schema, String table, String type) {
    String key = schema + "." + table + "|" + type;
    long v = version.get();
    Plan p = plans.get(key);
    if (p != null && p.version() == v) {
      return p;
    }
    Map<Subscription, List<Binding>> bySub = new LinkedHashMap<>();
    for (String k : List.of(schema + "." + table, schema + ".*", "*.*")) {
      List<Binding> list = byTable.get(k);
      if (list != null) {
        for (Binding b : list) {
          if ((b.event().equals("*") || b.event().equals(type))
              && (b.schema().equals("*") || b.schema().equals(schema))
              && (b.table().equals("*") || b.table().equals(table))) {
            bySub.computeIfAbsent(b.sub(), s -> new ArrayList<>()).add(b);
          }
        }
      }
    }
    Targets fixed = new Targets();
    List<Binding> filtered = new ArrayList<>();
    for (Map.Entry<Subscription, List<Binding>> e : bySub.entrySet()) {
      if (e.getValue().stream().allMatch(b -> b.filter().isEmpty())) {
        fixed.add(group(e.getKey()), Form.of(e.getValue()), e.getKey());
      } else {
        filtered.addAll(e.getValue());
      }
    }
    p = new Plan(v, fixed, List.copyOf(filtered));
    plans.put(key, p);
    return p;
  }

  private String group(Subscription s) {
    return security.isPresent() ? s.claimsGroup(RowSecurity::groupKey) : "";
  }

  /** How long a committed transaction may stay invisible to new snapshots before the stream reads it again. */
  static final Duration COMMIT_VISIBILITY = Duration.ofSeconds(5);

  /**
   * Routes the changes of transaction {@code xid} in order. Rows of tables with row-level security are
   * checked first, once the transaction is visible to other sessions, in one statement per claims group
   * and table for the whole batch.
   */
  int routeAll(List<ChangeRecord> changes, long xid) {
    Map<String, Set<List<String>>> visible = Map.of();
    if (security.isPresent()) {
      RowSecurity rs = security.get();
      if (changes.stream().anyMatch(c -> !"DELETE".equals(c.type()) && rs.enabled(c.schema(), c.table()))) {
        rs.awaitCommitted(xid, COMMIT_VISIBILITY);
      }
      visible = prefetch(changes, rs);
    }
    int n = 0;
    for (ChangeRecord c : changes) {
      n += route(c, visible);
    }
    return n;
  }

  private Map<String, Set<List<String>>> prefetch(List<ChangeRecord> changes, RowSecurity rs) {
    if (changes.size() < 2) {
      return Map.of();
    }
    // table -> group -> (a member, the keys to check)
    Map<String, Map<String, Map.Entry<Subscription, List<List<String>>>>> wanted = new LinkedHashMap<>();
    Map<String, ChangeRecord> sample = new LinkedHashMap<>();
    for (ChangeRecord c : changes) {
      if ("DELETE".equals(c.type()) || !rs.enabled(c.schema(), c.table())) {
        continue;
      }
      List<String> key = keyValues(c.record(), List.copyOf(c.keyColumns()));
      if (key == null) {
        continue;
      }
      String table = c.schema() + "." + c.table();
      sample.putIfAbsent(table, c);
      Plan plan = plan(c.schema(), c.table(), c.type());
      Map<String, Map.Entry<Subscription, List<List<String>>>> groups = wanted.computeIfAbsent(table, t -> new LinkedHashMap<>());
      plan.fixed().byGroup.forEach((g, forms) ->
          groups.computeIfAbsent(g, x -> Map.entry(firstOf(forms), new ArrayList<>())).getValue().add(key));
      for (Binding b : plan.filtered()) {
        groups.computeIfAbsent(group(b.sub()), x -> Map.entry(b.sub(), new ArrayList<>())).getValue().add(key);
      }
    }
    Map<String, Set<List<String>>> out = new HashMap<>();
    wanted.forEach((table, groups) -> {
      ChangeRecord c = sample.get(table);
      groups.forEach((g, e) -> out.put(table + "|" + g, rs.visible(e.getKey().token(), c.schema(), c.table(),
          List.copyOf(c.keyColumns()), c.columns(), e.getValue().stream().distinct().toList())));
    });
    return out;
  }

  /** Delivers a change to every subscription with a matching binding; returns how many subscriptions. */
  int route(ChangeRecord c) {
    return route(c, Map.of());
  }

  private int route(ChangeRecord c, Map<String, Set<List<String>>> visible) {
    Plan plan = plan(c.schema(), c.table(), c.type());
    Targets targets = plan.fixed();
    if (!plan.filtered().isEmpty()) {
      Map<Subscription, List<Binding>> matched = new LinkedHashMap<>();
      for (Binding b : plan.filtered()) {
        if (b.matches(c)) {
          matched.computeIfAbsent(b.sub(), s -> new ArrayList<>()).add(b);
        }
      }
      if (!matched.isEmpty()) {
        Targets merged = new Targets();
        plan.fixed().byGroup.forEach((g, forms) -> forms.forEach((f, byTopic) ->
            byTopic.values().forEach(list -> list.forEach(s -> merged.add(g, f, s)))));
        matched.forEach((s, bindings) -> merged.add(group(s), Form.of(bindings), s));
        targets = merged;
      }
    }
    int delivered = 0;
    Map<Set<String>, byte[]> dataBySelect = new LinkedHashMap<>();
    for (Map.Entry<String, Map<Form, Map<String, List<Subscription>>>> g : targets.byGroup.entrySet()) {
      Map<Form, Map<String, List<Subscription>>> forms = g.getValue();
      Access access = security.isPresent()
          ? access(c, firstOf(forms), security.get(), visible.get(c.schema() + "." + c.table() + "|" + g.getKey()))
          : Access.ALL;
      if (!access.sees()) {
        continue;
      }
      for (Map.Entry<Form, Map<String, List<Subscription>>> e : forms.entrySet()) {
        Form form = e.getKey().restricted(access.restrict());
        byte[] data = dataBySelect.computeIfAbsent(form.select(), sel -> ChangePayload.data(c, sel));
        String event = form.legacy() ? c.type() : "postgres_changes";
        for (Map.Entry<String, List<Subscription>> t : e.getValue().entrySet()) {
          deliver(t.getKey(), t.getValue(), form, data, event);
          delivered += t.getValue().size();
        }
      }
    }
    return delivered;
  }

  private static Subscription firstOf(Map<Form, Map<String, List<Subscription>>> forms) {
    return forms.values().iterator().next().values().iterator().next().get(0);
  }

  /** What one claims group may see of a change: nothing, everything, or only some columns. */
  private record Access(boolean sees, Set<String> restrict) {
    static final Access ALL = new Access(true, null);
    static final Access NONE = new Access(false, null);
  }

  /**
   * One check per group of identical role and claims: column privileges always (cached per role and
   * table), row-level security when the table has it on. A DELETE cannot be checked (the row is gone):
   * with RLS on it carries the key only.
   */
  private Access access(ChangeRecord c, Subscription member, RowSecurity rs, Set<List<String>> prefetched) {
    var token = member.token();
    Set<String> allowed = rs.selectable(token.role(), c.schema(), c.table());
    if (allowed.isEmpty()) {
      return Access.NONE;
    }
    boolean rls = rs.enabled(c.schema(), c.table());
    boolean delete = "DELETE".equals(c.type());
    if (rls && !delete) {
      List<String> keyColumns = List.copyOf(c.keyColumns());
      List<String> key = keyValues(c.record(), keyColumns);
      Set<List<String>> seen =
          prefetched != null ? prefetched : rs.visible(token, c.schema(), c.table(), keyColumns, c.columns(),
              key == null ? List.of() : List.of(key));
      if (key == null || !seen.contains(key)) {
        return Access.NONE;
      }
    }
    if (rls && delete) {
      return new Access(true, c.keyColumns());
    }
    return allowed.containsAll(c.columns().keySet()) ? Access.ALL : new Access(true, allowed);
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

  /** One frame per topic (the topic is part of it), shared by that topic's subscriptions. */
  private void deliver(String topic, List<Subscription> subs, Form form, byte[] data, String event) {
    Json.GeneratorWriter payload = ChangePayload.payload(form.ids(), data, form.legacy());
    SharedPush push = new SharedPush(alloc, data.length, (codec, a) -> codec.encode(a, null, null, topic, event, payload));
    topics.deliverTo(subs, push, "postgres_changes");
  }

  /** How a subscription receives a change: which binding ids, which columns, legacy or current form. */
  record Form(List<Integer> ids, Set<String> select, boolean legacy) {
    /** This form limited to the columns a group may see (null: no limit). */
    Form restricted(Set<String> restrict) {
      if (restrict == null) {
        return this;
      }
      Set<String> limited = new TreeSet<>(select.isEmpty() ? restrict : select);
      limited.retainAll(restrict);
      // an empty selection means every column; a selection naming no real column sends the keys only
      return new Form(ids, limited.isEmpty() ? Set.of("") : Set.copyOf(limited), legacy);
    }

    static Form of(List<Binding> bindings) {
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
      return new Form(List.copyOf(ids), all ? Set.of() : Set.copyOf(select), legacy);
    }
  }
}
