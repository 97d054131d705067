package io.whatssound.realtime.runtime.value;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One row change, decoded and converted to JSON values.
 *
 * @param schema          the table's schema
 * @param table           the table
 * @param type            INSERT, UPDATE or DELETE
 * @param commitTimestamp {@code YYYY-MM-DDTHH:MM:SS.mmmZ}
 * @param columns         column names to type names, in table order
 * @param keyColumns      the replica identity (primary key) columns
 * @param record          new values (INSERT, UPDATE), else null
 * @param oldRecord       old values (UPDATE: the key or the full row; DELETE), else null
 */
public record ChangeRecord(
    String schema, String table, String type, String commitTimestamp, Map<String, String> columns,
    Set<String> keyColumns, ObjectNode record, ObjectNode oldRecord) {

  /** The values filters look at: the old row for a DELETE, the new one otherwise. */
  public ObjectNode filteredRow() {
    return "DELETE".equals(type) ? oldRecord : record;
  }

  public List<String> columnNames() {
    return List.copyOf(columns.keySet());
  }
}
