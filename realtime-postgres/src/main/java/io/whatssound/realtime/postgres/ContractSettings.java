package io.whatssound.realtime.postgres;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What the database contract provisions for one tenant.
 *
 * @param publication    the publication users add their tables to (Supabase's {@code supabase_realtime})
 * @param tables         when present, the exact tables ({@code schema.table}) the publication holds; empty means
 *                       users manage its table list themselves ({@code alter publication ... add table})
 * @param allTables      publish every table (a {@code FOR ALL TABLES} publication); excludes {@code tables}
 * @param slot           the tenant's logical replication slot (pgoutput)
 * @param premakeDays    daily partitions of {@code realtime.messages} created ahead of today
 * @param retention      partitions wholly older than this are dropped
 */
public record ContractSettings(
    String publication, Optional<List<String>> tables, boolean allTables, String slot, int premakeDays, Duration retention) {

  public static final String DEFAULT_PUBLICATION = "supabase_realtime";
  public static final String DEFAULT_SLOT = "supabase_realtime_slot";
  /** Carries {@code realtime.messages} (database broadcasts) next to the user's publication. */
  public static final String MESSAGES_PUBLICATION = "supabase_realtime_messages_publication";
  private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  public ContractSettings {
    requireIdentifier("publication", publication);
    requireIdentifier("slot", slot);
    if (premakeDays < 0 || premakeDays > 60) {
      throw new IllegalArgumentException("premakeDays must be between 0 and 60, got " + premakeDays);
    }
    if (retention.compareTo(Duration.ofHours(1)) < 0) {
      throw new IllegalArgumentException("retention must be at least one hour, got " + retention);
    }
    if (allTables && tables.isPresent()) {
      throw new IllegalArgumentException("choose either allTables or a table list for the publication, not both");
    }
    tables = tables.map(List::copyOf);
    tables.ifPresent(list -> list.forEach(Sql::qualified)); // each schema.table, or a clear error now
  }

  public static ContractSettings defaults() {
    return new ContractSettings(DEFAULT_PUBLICATION, Optional.empty(), false, DEFAULT_SLOT, 3, Duration.ofHours(72));
  }

  public ContractSettings withNames(String newPublication, String newSlot) {
    return new ContractSettings(newPublication, tables, allTables, newSlot, premakeDays, retention);
  }

  static void requireIdentifier(String what, String value) {
    if (value == null || !IDENTIFIER.matcher(value).matches()) {
      throw new IllegalArgumentException(
          what + " must be a lower-case PostgreSQL identifier (letters, digits, _; at most 63), got '" + value + "'");
    }
  }
}
