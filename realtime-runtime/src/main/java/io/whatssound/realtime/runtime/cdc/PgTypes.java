package io.whatssound.realtime.runtime.cdc;

import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Collectors;

/**
 * Names ({@code pg_type.typname}) of the built-in PostgreSQL types that Postgres Changes converts or
 * reports, by their fixed OIDs (PostgreSQL's {@code pg_type.dat}; checked against a PostgreSQL 15
 * server). Types created at run time (enums, domains, composite and extension types) have OIDs of their
 * own per database and are not here: the caller looks those up ({@code pgoutput} sends a Type message
 * for them).
 */
public final class PgTypes {
  private static final Map<Integer, String> NAMES =
      Map.ofEntries(
          // element types, then their array types (array typname is "_" + element typname)
          Map.entry(16, "bool"), Map.entry(1000, "_bool"),
          Map.entry(17, "bytea"), Map.entry(1001, "_bytea"),
          Map.entry(18, "char"), Map.entry(1002, "_char"),
          Map.entry(19, "name"), Map.entry(1003, "_name"),
          Map.entry(20, "int8"), Map.entry(1016, "_int8"),
          Map.entry(21, "int2"), Map.entry(1005, "_int2"),
          Map.entry(23, "int4"), Map.entry(1007, "_int4"),
          Map.entry(25, "text"), Map.entry(1009, "_text"),
          Map.entry(26, "oid"), Map.entry(1028, "_oid"),
          Map.entry(114, "json"), Map.entry(199, "_json"),
          Map.entry(142, "xml"), Map.entry(143, "_xml"),
          Map.entry(650, "cidr"), Map.entry(651, "_cidr"),
          Map.entry(700, "float4"), Map.entry(1021, "_float4"),
          Map.entry(701, "float8"), Map.entry(1022, "_float8"),
          Map.entry(790, "money"), Map.entry(791, "_money"),
          Map.entry(829, "macaddr"), Map.entry(1040, "_macaddr"),
          Map.entry(869, "inet"), Map.entry(1041, "_inet"),
          Map.entry(1042, "bpchar"), Map.entry(1014, "_bpchar"),
          Map.entry(1043, "varchar"), Map.entry(1015, "_varchar"),
          Map.entry(1082, "date"), Map.entry(1182, "_date"),
          Map.entry(1083, "time"), Map.entry(1183, "_time"),
          Map.entry(1114, "timestamp"), Map.entry(1115, "_timestamp"),
          Map.entry(1184, "timestamptz"), Map.entry(1185, "_timestamptz"),
          Map.entry(1186, "interval"), Map.entry(1187, "_interval"),
          Map.entry(1266, "timetz"), Map.entry(1270, "_timetz"),
          Map.entry(1560, "bit"), Map.entry(1561, "_bit"),
          Map.entry(1562, "varbit"), Map.entry(1563, "_varbit"),
          Map.entry(1700, "numeric"), Map.entry(1231, "_numeric"),
          Map.entry(2950, "uuid"), Map.entry(2951, "_uuid"),
          Map.entry(3802, "jsonb"), Map.entry(3807, "_jsonb"),
          Map.entry(3904, "int4range"), Map.entry(3905, "_int4range"),
          Map.entry(3906, "numrange"), Map.entry(3907, "_numrange"),
          Map.entry(3908, "tsrange"), Map.entry(3909, "_tsrange"),
          Map.entry(3910, "tstzrange"), Map.entry(3911, "_tstzrange"),
          Map.entry(3912, "daterange"), Map.entry(3913, "_daterange"),
          Map.entry(3926, "int8range"), Map.entry(3927, "_int8range"));

  private static final Map<String, Integer> OIDS = invert(NAMES);

  private PgTypes() {}

  /** The type name of a built-in OID, or empty for an OID this table does not know. */
  public static Optional<String> name(int oid) {
    return Optional.ofNullable(NAMES.get(oid));
  }

  /** The OID of a built-in type name known here, e.g. {@code "_int4"} gives 1007. */
  public static OptionalInt oid(String name) {
    Integer oid = OIDS.get(name);
    return oid == null ? OptionalInt.empty() : OptionalInt.of(oid);
  }

  /** Whether a type name is an array type's ({@code _} followed by its element type's name). */
  public static boolean isArray(String name) {
    return name.length() > 1 && name.charAt(0) == '_';
  }

  private static Map<String, Integer> invert(Map<Integer, String> names) {
    return Map.copyOf(
        names.entrySet().stream()
            .collect(Collectors.toMap(Map.Entry::getValue, Map.Entry::getKey)));
  }
}
