package io.whatssound.realtime.runtime.cdc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/** A {@code postgres_changes} binding as a client asked for it, before {@link BindingValidator} checks it. */
public record ChangeRequest(String event, String schema, String table, String filter, Set<String> select) {

  /** Reads {@code {"event","schema"?,"table"?,"filter"?,"select"?}}; as in Supabase, the schema defaults to public. */
  public static ChangeRequest of(ObjectNode b) {
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
    return new ChangeRequest(
        b.path("event").asText("*"), text(b.path("schema")).orElse("public"),
        text(b.path("table")).orElse("*"), text(b.path("filter")).orElse(null), select);
  }

  /** The legacy form: the sub-topic {@code schema[:table[:filter]]} of a join without config. */
  public static ChangeRequest legacy(String subTopic) {
    String[] parts = subTopic.split(":", 3);
    return new ChangeRequest("*", parts[0], parts.length > 1 ? parts[1] : "*", parts.length > 2 ? parts[2] : null,
        Set.of());
  }

  private static Optional<String> text(JsonNode n) {
    return n.isTextual() && !n.textValue().isBlank() ? Optional.of(n.textValue()) : Optional.empty();
  }
}
