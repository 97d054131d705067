package io.whatssound.realtime.runtime.cdc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * A Postgres Changes {@code filter} of a subscription: {@code column=op.value} conditions joined by
 * commas (all must hold). Parsed once when a client joins ({@link #parse}), checked against the table
 * ({@link #validate(Map)}), then evaluated against each change record ({@link #matches}).
 *
 * <p>Operators: {@code eq neq lt lte gt gte in like ilike is}; {@code not.} before one negates it.
 * {@code in} takes {@code (a,b,"c,d")}; a value or {@code in} item in double quotes may hold commas and
 * parentheses, with backslash escapes. {@code is} takes {@code null}, {@code true} or {@code false}.
 *
 * <p>Evaluation follows SQL: values compare by column type (numeric types as numbers, {@code bool} as
 * booleans, everything else as strings in code point order, which is PostgreSQL's "C" collation), a
 * comparison with NULL is false, and so is its negation; {@code is} is never NULL ({@code not.is.true}
 * holds for NULL, as {@code IS NOT TRUE} does). A column absent from the record (not sent by the
 * database) matches no condition.
 */
public final class ChangeFilter {
  private static final Set<String> NUMERIC_TYPES =
      Set.of("int2", "int4", "int8", "float4", "float8", "numeric", "oid");
  private static final int SHOWN_SOURCE_LIMIT = 200;

  /** A comparison operator of the filter syntax. */
  public enum Operator {
    EQ, NEQ, LT, LTE, GT, GTE, IN, LIKE, ILIKE, IS;

    /** The name in filter syntax, e.g. {@code "gte"}. */
    public String token() {
      return name().toLowerCase(Locale.ROOT);
    }

    static Operator of(String token) {
      for (Operator op : values()) {
        if (op.token().equals(token)) {
          return op;
        }
      }
      return null;
    }
  }

  /**
   * One {@code column=[not.]op.value} condition. {@code values} holds one value, except for {@code in}
   * (its items, possibly none); for {@code is} the value is {@code "null"}, {@code "true"} or
   * {@code "false"}.
   */
  public record Condition(String column, boolean negated, Operator op, List<String> values) {
    public Condition {
      Objects.requireNonNull(column, "column");
      Objects.requireNonNull(op, "op");
      values = List.copyOf(values);
    }

    /** The single value of a non-{@code in} condition. */
    public String value() {
      return values.get(0);
    }
  }

  private final String source;
  private final List<Compiled> compiled;

  private ChangeFilter(String source, List<Compiled> compiled) {
    this.source = source;
    this.compiled = List.copyOf(compiled);
  }

  /** A filter with no conditions: matches every record. */
  public static ChangeFilter all() {
    return new ChangeFilter("", List.of());
  }

  /**
   * Parses a filter as a client sends it.
   *
   * @throws IllegalArgumentException saying what is wrong and how the syntax goes
   */
  public static ChangeFilter parse(String filter) {
    if (filter == null || filter.isBlank()) {
      throw new IllegalArgumentException(
          "invalid filter \"" + (filter == null ? "" : filter) + "\": it is empty (use column=op.value, e.g. id=eq.1)");
    }
    List<Compiled> conditions = new ArrayList<>();
    for (String part : splitConditions(filter)) {
      conditions.add(new Compiled(parseCondition(filter, part)));
    }
    return new ChangeFilter(filter, conditions);
  }

  /** The filter text as given to {@link #parse}. */
  public String source() {
    return source;
  }

  public List<Condition> conditions() {
    return compiled.stream().map(c -> c.condition).toList();
  }

  /** The columns the conditions name, in filter order. */
  public Set<String> columns() {
    Set<String> out = new LinkedHashSet<>();
    for (Compiled c : compiled) {
      out.add(c.condition.column());
    }
    return Collections.unmodifiableSet(out);
  }

  /**
   * Checks that every column the filter names exists.
   *
   * @throws IllegalArgumentException naming the missing column and the table's columns
   */
  public void validate(Set<String> columns) {
    for (Compiled c : compiled) {
      String column = c.condition.column();
      if (!columns.contains(column)) {
        throw invalid(source, "the table has no column \"" + column + "\" (its columns: " + list(columns) + ")");
      }
    }
  }

  /**
   * Checks the columns (see {@link #validate(Set)}) and that every value fits its column's type: numbers
   * for numeric columns, booleans for {@code bool}, {@code like}/{@code ilike} only on non-numeric,
   * non-boolean columns and {@code is.true}/{@code is.false} only on {@code bool}.
   *
   * @param columnTypes column name to type name ({@code pg_type.typname})
   */
  public void validate(Map<String, String> columnTypes) {
    validate(columnTypes.keySet());
    for (Compiled c : compiled) {
      Condition cond = c.condition;
      String type = columnTypes.get(cond.column());
      Kind kind = Kind.of(type);
      String where = " column \"" + cond.column() + "\" is " + type;
      switch (cond.op()) {
        case IS -> {
          if (!cond.value().equals("null") && kind != Kind.BOOL) {
            throw invalid(source, "is." + cond.value() + " needs a bool column, but" + where);
          }
        }
        case LIKE, ILIKE -> {
          if (kind != Kind.TEXT) {
            throw invalid(source, cond.op().token() + " compares text, but" + where + " (use eq, lt, gt, ... instead)");
          }
        }
        default -> {
          for (int i = 0; i < cond.values().size(); i++) {
            String v = cond.values().get(i);
            if (kind == Kind.NUMBER && c.numbers.get(i) == null) {
              throw invalid(source, "\"" + v + "\" is not a number, but" + where);
            }
            if (kind == Kind.BOOL && c.bools.get(i) == null) {
              throw invalid(source, "\"" + v + "\" is not a boolean (use true or false), but" + where);
            }
          }
        }
      }
    }
  }

  /**
   * Whether a change record satisfies every condition.
   *
   * @param record      column name to JSON value as {@link PgValues} converts it
   * @param columnTypes column name to type name; a column without a type compares as text
   */
  public boolean matches(ObjectNode record, Map<String, String> columnTypes) {
    for (Compiled c : compiled) {
      if (!c.test(record.get(c.condition.column()), Kind.of(columnTypes.get(c.condition.column())))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ChangeFilter f && f.source.equals(source);
  }

  @Override
  public int hashCode() {
    return source.hashCode();
  }

  @Override
  public String toString() {
    return "ChangeFilter[" + source + "]";
  }

  // ---------------------------------------------------------------- parsing

  private static List<String> splitConditions(String filter) {
    List<String> parts = new ArrayList<>();
    int depth = 0;
    boolean quoted = false;
    int start = 0;
    for (int i = 0; i < filter.length(); i++) {
      char c = filter.charAt(i);
      if (quoted) {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == '(') {
        depth++;
      } else if (c == ')') {
        if (--depth < 0) {
          throw invalid(filter, "a ')' at position " + (i + 1) + " has no matching '('");
        }
      } else if (c == ',' && depth == 0) {
        parts.add(filter.substring(start, i));
        start = i + 1;
      }
    }
    if (quoted) {
      throw invalid(filter, "a double quote is not closed");
    }
    if (depth > 0) {
      throw invalid(filter, "a '(' is not closed");
    }
    parts.add(filter.substring(start));
    return parts;
  }

  private static Condition parseCondition(String filter, String part) {
    if (part.isBlank()) {
      throw invalid(filter, "it has an empty condition (a comma too many?); use column=op.value,column=op.value");
    }
    int eq = part.indexOf('=');
    if (eq < 0) {
      throw invalid(filter, "condition \"" + part + "\" must look like column=op.value, e.g. id=eq.1");
    }
    String column = part.substring(0, eq).trim();
    if (column.isEmpty()) {
      throw invalid(filter, "condition \"" + part + "\" names no column before '='");
    }
    String rest = part.substring(eq + 1);
    boolean negated = false;
    if (rest.regionMatches(true, 0, "not.", 0, 4)) {
      negated = true;
      rest = rest.substring(4);
    }
    int dot = rest.indexOf('.');
    String token = (dot < 0 ? rest : rest.substring(0, dot)).trim().toLowerCase(Locale.ROOT);
    Operator op = Operator.of(token);
    if (op == null) {
      String what = token.isEmpty() ? "no operator after \"" + column + "=\"" : "unknown operator \"" + token + "\"";
      throw invalid(filter, what
          + " (use eq, neq, lt, lte, gt, gte, in, like, ilike, is)");
    }
    if (dot < 0) {
      throw invalid(filter, "operator \"" + token + "\" needs a value: " + column + "=" + token + ".<value>");
    }
    String raw = rest.substring(dot + 1);
    List<String> values =
        switch (op) {
          case IN -> inItems(filter, raw);
          case IS -> List.of(isValue(filter, raw));
          default -> List.of(unquote(filter, raw));
        };
    if (op == Operator.LIKE || op == Operator.ILIKE) {
      String pattern = values.get(0);
      int backslashes = 0;
      for (int i = pattern.length() - 1; i >= 0 && pattern.charAt(i) == '\\'; i--) {
        backslashes++;
      }
      if (backslashes % 2 == 1) {
        throw invalid(filter,
            "the " + token + " pattern \"" + pattern + "\" ends with a lone backslash (escape it as \\\\)");
      }
    }
    return new Condition(column, negated, op, values);
  }

  private static String isValue(String filter, String raw) {
    String v = raw.trim().toLowerCase(Locale.ROOT);
    if (!v.equals("null") && !v.equals("true") && !v.equals("false")) {
      throw invalid(filter, "is takes null, true or false, not \"" + raw + "\"");
    }
    return v;
  }

  /** A whole value in double quotes loses them (and its backslash escapes); any other is taken as is. */
  private static String unquote(String filter, String raw) {
    if (raw.length() >= 2 && raw.charAt(0) == '"' && raw.charAt(raw.length() - 1) == '"') {
      Quoted q = quoted(filter, raw, 0);
      if (q.end == raw.length()) {
        return q.text;
      }
    }
    return raw;
  }

  private static List<String> inItems(String filter, String raw) {
    String s = raw.trim();
    if (s.length() < 2 || s.charAt(0) != '(' || s.charAt(s.length() - 1) != ')') {
      throw invalid(filter, "in takes a list in parentheses, e.g. in.(1,2,3), not \"" + raw + "\"");
    }
    String inner = s.substring(1, s.length() - 1);
    List<String> items = new ArrayList<>();
    if (inner.isBlank()) {
      return items;
    }
    int i = 0;
    while (true) {
      while (i < inner.length() && Character.isWhitespace(inner.charAt(i))) {
        i++;
      }
      String item;
      if (i < inner.length() && inner.charAt(i) == '"') {
        Quoted q = quoted(filter, inner, i);
        item = q.text;
        i = q.end;
        while (i < inner.length() && Character.isWhitespace(inner.charAt(i))) {
          i++;
        }
        if (i < inner.length() && inner.charAt(i) != ',') {
          throw invalid(filter, "in-list item " + (items.size() + 1) + " has text after its closing quote");
        }
      } else {
        int comma = inner.indexOf(',', i);
        int end = comma < 0 ? inner.length() : comma;
        item = inner.substring(i, end).trim();
        if (item.isEmpty()) {
          throw invalid(filter, "in-list item " + (items.size() + 1) + " is empty (write an empty string as \"\")");
        }
        i = end;
      }
      items.add(item);
      if (i >= inner.length()) {
        return items;
      }
      i++; // the comma
    }
  }

  private record Quoted(String text, int end) {}

  /** Reads a double-quoted string starting at {@code start}; {@code end} is just past the closing quote. */
  private static Quoted quoted(String filter, String s, int start) {
    StringBuilder sb = new StringBuilder();
    for (int i = start + 1; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 1 < s.length()) {
        sb.append(s.charAt(++i));
      } else if (c == '"') {
        return new Quoted(sb.toString(), i + 1);
      } else {
        sb.append(c);
      }
    }
    throw invalid(filter, "a double quote is not closed");
  }

  private static IllegalArgumentException invalid(String filter, String why) {
    String shown = filter.length() > SHOWN_SOURCE_LIMIT ? filter.substring(0, SHOWN_SOURCE_LIMIT) + "..." : filter;
    return new IllegalArgumentException("invalid filter \"" + shown + "\": " + why);
  }

  private static String list(Collection<String> columns) {
    Set<String> sorted = new TreeSet<>(columns);
    return sorted.isEmpty() ? "none" : String.join(", ", sorted);
  }

  // ---------------------------------------------------------------- evaluation

  /** How a column's values compare. */
  private enum Kind {
    NUMBER, BOOL, TEXT;

    static Kind of(String type) {
      if (type == null) {
        return TEXT;
      }
      return NUMERIC_TYPES.contains(type) ? NUMBER : type.equals("bool") ? BOOL : TEXT;
    }
  }

  /** A condition with its values read once as numbers, booleans and a LIKE pattern. */
  private static final class Compiled {
    final Condition condition;
    final List<Num> numbers; // null entries: not a number
    final List<Boolean> bools; // null entries: not a boolean
    final LikePattern like;

    Compiled(Condition condition) {
      this.condition = condition;
      List<Num> nums = new ArrayList<>();
      List<Boolean> bs = new ArrayList<>();
      for (String v : condition.values()) {
        nums.add(Num.parse(v));
        bs.add(parseBool(v));
      }
      this.numbers = Collections.unmodifiableList(nums);
      this.bools = Collections.unmodifiableList(bs);
      this.like =
          switch (condition.op()) {
            case LIKE -> new LikePattern(condition.value(), false);
            case ILIKE -> new LikePattern(condition.value(), true);
            default -> null;
          };
    }

    boolean test(JsonNode value, Kind kind) {
      if (value == null || value.isMissingNode()) {
        return false; // the database did not send this column
      }
      if (condition.op() == Operator.IS) {
        boolean is =
            switch (condition.value()) {
              case "null" -> value.isNull();
              case "true" -> Boolean.TRUE.equals(bool(value));
              default -> Boolean.FALSE.equals(bool(value));
            };
        return is != condition.negated();
      }
      if (value.isNull()) {
        return false; // NULL compared is NULL, and so is NOT of it
      }
      Boolean result = compare(value, kind);
      return result != null && result != condition.negated();
    }

    /** The comparison's outcome, or null when the value cannot be compared (treated as NULL). */
    private Boolean compare(JsonNode value, Kind kind) {
      Operator op = condition.op();
      if (op == Operator.LIKE || op == Operator.ILIKE) {
        return like.matches(text(value));
      }
      if (op == Operator.IN) {
        for (int i = 0; i < condition.values().size(); i++) {
          Integer cmp = compareTo(value, kind, i);
          if (cmp != null && cmp == 0) {
            return true;
          }
        }
        return false;
      }
      Integer cmp = compareTo(value, kind, 0);
      if (cmp == null) {
        return null;
      }
      return switch (op) {
        case EQ -> cmp == 0;
        case NEQ -> cmp != 0;
        case LT -> cmp < 0;
        case LTE -> cmp <= 0;
        case GT -> cmp > 0;
        case GTE -> cmp >= 0;
        default -> throw new IllegalStateException("not a comparison: " + op);
      };
    }

    private Integer compareTo(JsonNode value, Kind kind, int index) {
      switch (kind) {
        case NUMBER -> {
          Num a = Num.of(value);
          Num b = numbers.get(index);
          return a == null || b == null ? null : a.compareTo(b);
        }
        case BOOL -> {
          Boolean a = bool(value);
          Boolean b = bools.get(index);
          return a == null || b == null ? null : Boolean.compare(a, b);
        }
        default -> {
          return compareCodePoints(text(value), condition.values().get(index));
        }
      }
    }
  }

  private static Boolean bool(JsonNode value) {
    if (value.isBoolean()) {
      return value.booleanValue();
    }
    return value.isTextual() ? parseBool(value.textValue()) : null;
  }

  /** PostgreSQL's spellings of a boolean, case-insensitive; null when it is none of them. */
  private static Boolean parseBool(String s) {
    return switch (s.trim().toLowerCase(Locale.ROOT)) {
      case "t", "true", "y", "yes", "on", "1" -> Boolean.TRUE;
      case "f", "false", "n", "no", "off", "0" -> Boolean.FALSE;
      default -> null;
    };
  }

  private static String text(JsonNode value) {
    return value.isValueNode() ? value.asText() : value.toString();
  }

  static int compareCodePoints(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int ca = a.codePointAt(i);
      int cb = b.codePointAt(j);
      if (ca != cb) {
        return Integer.compare(ca, cb);
      }
      i += Character.charCount(ca);
      j += Character.charCount(cb);
    }
    return Boolean.compare(i < a.length(), j < b.length());
  }

  /** A number as PostgreSQL orders them: -Infinity, finite values, Infinity, then NaN (equal to itself). */
  private record Num(int rank, BigDecimal value) implements Comparable<Num> {
    static Num parse(String s) {
      String t = s.trim();
      switch (t.toLowerCase(Locale.ROOT)) {
        case "nan" -> {
          return new Num(3, null);
        }
        case "infinity", "+infinity", "inf", "+inf" -> {
          return new Num(2, null);
        }
        case "-infinity", "-inf" -> {
          return new Num(0, null);
        }
        default -> {
          try {
            return new Num(1, new BigDecimal(t));
          } catch (NumberFormatException e) {
            return null;
          }
        }
      }
    }

    static Num of(JsonNode value) {
      if (value.isNumber()) {
        if (value.isDouble() || value.isFloat()) {
          double d = value.doubleValue();
          if (!Double.isFinite(d)) {
            return new Num(Double.isNaN(d) ? 3 : d > 0 ? 2 : 0, null);
          }
        }
        return new Num(1, value.decimalValue());
      }
      return value.isTextual() ? parse(value.textValue()) : null;
    }

    @Override
    public int compareTo(Num o) {
      return rank != o.rank ? Integer.compare(rank, o.rank) : rank == 1 ? value.compareTo(o.value) : 0;
    }
  }

  /**
   * SQL LIKE: {@code %} any run of characters, {@code _} any one character, backslash makes the next
   * character literal. Matched in O(pattern × text) without regular expressions, so a filter cannot make
   * evaluation blow up.
   */
  private static final class LikePattern {
    private static final int ANY_ONE = -1;
    private static final int ANY_RUN = -2;
    private final int[] tokens;
    private final boolean ignoreCase;

    LikePattern(String pattern, boolean ignoreCase) {
      this.ignoreCase = ignoreCase;
      int[] cps = pattern.codePoints().toArray();
      int[] out = new int[cps.length];
      int n = 0;
      for (int i = 0; i < cps.length; i++) {
        int c = cps[i];
        if (c == '\\' && i + 1 < cps.length) {
          out[n++] = fold(cps[++i]);
        } else if (c == '%') {
          if (n == 0 || out[n - 1] != ANY_RUN) {
            out[n++] = ANY_RUN;
          }
        } else if (c == '_') {
          out[n++] = ANY_ONE;
        } else {
          out[n++] = fold(c);
        }
      }
      this.tokens = Arrays.copyOf(out, n);
    }

    private int fold(int c) {
      return ignoreCase ? Character.toLowerCase(Character.toUpperCase(c)) : c;
    }

    boolean matches(String text) {
      int[] s = text.codePoints().toArray();
      int p = 0;
      int i = 0;
      int star = -1;
      int mark = 0;
      while (i < s.length) {
        if (p < tokens.length && (tokens[p] == ANY_ONE || tokens[p] == fold(s[i]))) {
          p++;
          i++;
        } else if (p < tokens.length && tokens[p] == ANY_RUN) {
          star = p++;
          mark = i;
        } else if (star >= 0) {
          p = star + 1;
          i = ++mark;
        } else {
          return false;
        }
      }
      while (p < tokens.length && tokens[p] == ANY_RUN) {
        p++;
      }
      return p == tokens.length;
    }
  }
}
