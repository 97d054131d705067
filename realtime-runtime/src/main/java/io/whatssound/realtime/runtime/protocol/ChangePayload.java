package io.whatssound.realtime.runtime.protocol;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

/**
 * How a row change looks on the wire: the {@code data} object (schema, table, commit_timestamp, type, columns,
 * record, old_record, errors), cut to the selected columns and under the 413 rule, and the payload that carries it
 * (with the binding ids for {@code postgres_changes}, bare for the legacy per-type events).
 */
public final class ChangePayload {
  /** Above this the values over {@link #TRUNCATED_VALUE_BYTES} are left out and errors says 413. */
  public static final int MAX_RECORD_BYTES = 1024 * 1024;
  public static final int TRUNCATED_VALUE_BYTES = 64;

  private ChangePayload() {}

  /** The {@code data} object of a change with the {@code select}ed columns and the key (empty: all columns). */
  public static byte[] data(ChangeRecord c, Set<String> select) {
    ObjectNode record = project(c.record(), select, c.keyColumns());
    ObjectNode old = project(c.oldRecord(), select, c.keyColumns());
    byte[] full = render(c, select, record, old, false);
    if (full.length <= MAX_RECORD_BYTES) {
      return full;
    }
    return render(c, select, truncate(record), truncate(old), true);
  }

  /** The push payload around {@code data}: {@code {ids, data}}, or {@code data} itself in the legacy form. */
  public static Json.GeneratorWriter payload(List<Integer> ids, byte[] data, boolean legacy) {
    String dataText = new String(data, StandardCharsets.UTF_8);
    if (legacy) {
      return g -> g.writeRawValue(dataText);
    }
    return g -> {
      g.writeStartObject();
      g.writeArrayFieldStart("ids");
      for (int id : ids) {
        g.writeNumber(id);
      }
      g.writeEndArray();
      g.writeFieldName("data");
      g.writeRawValue(dataText);
      g.writeEndObject();
    };
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

  private static byte[] render(ChangeRecord c, Set<String> select, ObjectNode record, ObjectNode old,
      boolean tooLarge) {
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
}
