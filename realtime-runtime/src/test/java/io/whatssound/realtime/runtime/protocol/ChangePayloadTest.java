package io.whatssound.realtime.runtime.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The {@code data} object of a change: shapes, {@code select}, and the 413 rule. */
class ChangePayloadTest {
  private static ChangeRecord change(String type, ObjectNode record, ObjectNode old) {
    Map<String, String> cols = new LinkedHashMap<>();
    cols.put("id", "int8");
    cols.put("title", "text");
    cols.put("body", "text");
    return new ChangeRecord("public", "songs", type, "2026-01-02T03:04:05.678Z", cols, Set.of("id"), record, old);
  }

  private static ObjectNode row(long id, String title, String body) {
    return Json.MAPPER.createObjectNode().put("id", id).put("title", title).put("body", body);
  }

  private static JsonNode data(ChangeRecord c, Set<String> select) throws Exception {
    return Json.MAPPER.readTree(ChangePayload.data(c, select));
  }

  @Test
  void insertUpdateAndDeleteHaveTheirRecords() throws Exception {
    JsonNode ins = data(change("INSERT", row(1, "a", "b"), null), Set.of());
    assertEquals("INSERT", ins.get("type").asText());
    assertEquals("2026-01-02T03:04:05.678Z", ins.get("commit_timestamp").asText());
    assertEquals("int8", ins.at("/columns/0/type").asText());
    assertEquals("a", ins.at("/record/title").asText());
    assertFalse(ins.has("old_record"));
    assertTrue(ins.get("errors").isNull());
    JsonNode del = data(change("DELETE", null, Json.MAPPER.createObjectNode().put("id", 1)), Set.of());
    assertFalse(del.has("record"));
    assertEquals(1, del.at("/old_record/id").asInt());
  }

  @Test
  void selectKeepsTheChosenColumnsAndTheKey() throws Exception {
    JsonNode d = data(change("UPDATE", row(1, "a", "b"), row(1, "x", "y")), Set.of("title"));
    assertEquals(Set.of("id", "title"), fieldNames(d.get("record")));
    assertEquals(Set.of("id", "title"), fieldNames(d.get("old_record")));
    assertEquals(2, d.get("columns").size());
  }

  @Test
  void anOversizeRecordKeepsOnlySmallValuesAndSays413() throws Exception {
    String big = "x".repeat(ChangePayload.MAX_RECORD_BYTES);
    JsonNode d = data(change("INSERT", row(7, "short", big), null), Set.of());
    assertEquals("Error 413: Payload Too Large", d.at("/errors/0").asText());
    assertEquals(7, d.at("/record/id").asInt());
    assertEquals("short", d.at("/record/title").asText());
    assertNull(d.get("record").get("body"), "values over 64 bytes are left out");
  }

  private static Set<String> fieldNames(JsonNode n) {
    Set<String> out = new TreeSet<>();
    n.fieldNames().forEachRemaining(out::add);
    return out;
  }

}
