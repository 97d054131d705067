package io.whatssound.realtime.runtime.cdc;

import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import java.util.Optional;
import java.util.Set;

/**
 * One Postgres Changes binding of a subscription, validated.
 *
 * @param id      the id sent back in the join reply and in each matching change
 * @param event   {@code *}, INSERT, UPDATE or DELETE
 * @param schema  a schema or {@code *}
 * @param table   a table or {@code *}
 * @param filter  a parsed filter, if any
 * @param select  columns to send (keys are always sent), empty for all
 * @param legacy  a join without config: events are named by type and carry the change itself
 * @param sub     the subscription it belongs to
 */
record Binding(
    int id, String event, String schema, String table, Optional<ChangeFilter> filter, Set<String> select,
    boolean legacy, Subscription sub) {

  boolean matches(ChangeRecord c) {
    if (!event.equals("*") && !event.equals(c.type())) {
      return false;
    }
    if (!schema.equals("*") && !schema.equals(c.schema())) {
      return false;
    }
    if (!table.equals("*") && !table.equals(c.table())) {
      return false;
    }
    return filter.isEmpty() || (c.filteredRow() != null && filter.get().matches(c.filteredRow(), c.columns()));
  }

  String routingKey() {
    return schema + "." + table;
  }
}
