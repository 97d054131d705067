package io.whatssound.realtime.runtime.cdc;

import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.db.RuntimeDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks a join's {@link ChangeRequest}s against the tables of the tenant's publication (event, schema, a published
 * table, a filter on its columns) and makes them {@link Binding}s, or says what is wrong as the client sees it.
 * Blocking: it reads the publication; call it off the event loop.
 */
final class BindingValidator {
  private static final Logger LOG = LoggerFactory.getLogger(BindingValidator.class);
  private static final Set<String> EVENTS = Set.of("*", "INSERT", "UPDATE", "DELETE");

  /** The bindings, or the error to report to the client (then no binding). */
  record Validated(List<Binding> bindings, Optional<String> error) {}

  private final RuntimeDatabase db;

  BindingValidator(RuntimeDatabase db) {
    this.db = db;
  }

  Validated validate(Subscription sub, List<ChangeRequest> requests, boolean legacy) {
    Map<String, Map<String, String>> tables;
    try {
      tables = publishedColumns();
    } catch (SQLException e) {
      LOG.warn("Could not read the published tables: {}", e.getMessage());
      return new Validated(List.of(), Optional.of("Unable to reach the database to subscribe to changes; try again"));
    }
    List<Binding> out = new ArrayList<>();
    for (int i = 0; i < requests.size(); i++) {
      ChangeRequest r = requests.get(i);
      // as Supabase reads a binding: any other event means every event
      String event = EVENTS.contains(r.event().toUpperCase(Locale.ROOT)) ? r.event().toUpperCase(Locale.ROOT) : "*";
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
}
