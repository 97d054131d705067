package io.whatssound.realtime.runtime.cdc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Any postgres_changes filter a client may send: it parses, or is refused with an {@link IllegalArgumentException}
 * that says what is wrong; a parsed filter keeps its text, parses again to itself, is checked against a table's
 * column types the same way, and matches a row without failing. The corpus replays in every build;
 * {@code bench/fuzz.sh} fuzzes.
 */
class ChangeFilterFuzzTest {
  private static final List<String> TYPES = List.of("int4", "text", "bool", "uuid", "float8", "timestamptz", "numeric");

  @FuzzTest(maxDuration = "60s")
  void parsesOrExplains(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    ChangeFilter f;
    try {
      f = ChangeFilter.parse(text);
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage().startsWith("invalid filter"), "a refusal says what is wrong: " + e.getMessage());
      return;
    }
    assertEquals(text, f.source());
    assertEquals(f, ChangeFilter.parse(f.source()));
    // each named column gets a type and a value of that type (some null), chosen by the column's name
    Map<String, String> types = new HashMap<>();
    ObjectNode row = JsonNodeFactory.instance.objectNode();
    for (String column : f.columns()) {
      int pick = Math.floorMod(column.hashCode(), TYPES.size() + 1);
      if (pick == TYPES.size()) {
        row.putNull(column);
        types.put(column, "text");
        continue;
      }
      String type = TYPES.get(pick);
      types.put(column, type);
      switch (type) {
        case "int4", "float8", "numeric" -> row.put(column, 42);
        case "bool" -> row.put(column, true);
        default -> row.put(column, column);
      }
    }
    try {
      f.validate(types);
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage().startsWith("invalid filter"), "a refusal says what is wrong: " + e.getMessage());
      return;
    }
    f.matches(row, types);
  }
}
