package io.whatssound.realtime.runtime.cdc;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.whatssound.realtime.runtime.protocol.Json;
import java.io.IOException;
import java.math.BigDecimal;

/**
 * Converts a column value in PostgreSQL's text format (as {@code pgoutput} sends it) to the JSON value
 * Supabase Realtime puts in a change record, which is what PostgreSQL's {@code to_jsonb} gives: numbers
 * for integer, float and numeric types, booleans, parsed JSON for json/jsonb, JSON arrays for arrays
 * (elements converted by the element type), ISO-8601 strings for timestamps, and the text itself for
 * every other type. The client coerces further by column type.
 *
 * <p>Numbers keep PostgreSQL's digits exactly ({@link BigDecimal}); values with no JSON number form
 * ({@code NaN}, {@code Infinity}, {@code -Infinity}) stay strings. Text that is not a valid value of
 * its type (which PostgreSQL never sends) is an {@link IllegalArgumentException} naming type and value.
 */
public final class PgValues {
  /** Parses json/jsonb keeping every digit of decimal numbers. */
  private static final ObjectReader JSON_READER =
      Json.MAPPER
          .reader()
          .with(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .without(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES);

  private PgValues() {}

  /**
   * The JSON value of {@code text} (null for SQL NULL) of the type named {@code typeName}
   * ({@code pg_type.typname}, arrays as {@code _} + element name).
   */
  public static JsonNode toJson(String typeName, String text) {
    if (text == null) {
      return NullNode.instance;
    }
    if (PgTypes.isArray(typeName)) {
      String element = typeName.substring(1);
      return new ArrayParser(text, typeName, element, element.equals("box") ? ';' : ',').parse();
    }
    return switch (typeName) {
      case "int2", "int4" -> IntNode.valueOf((int) integer(typeName, text));
      case "int8", "oid" -> LongNode.valueOf(integer(typeName, text));
      case "float4", "float8" -> decimal(typeName, text, true);
      case "numeric" -> decimal(typeName, text, false);
      case "bool" -> BooleanNode.valueOf(bool(text));
      case "json", "jsonb" -> json(typeName, text);
      case "timestamp" -> TextNode.valueOf(isoTimestamp(text));
      case "timestamptz" -> TextNode.valueOf(isoTimestampTz(text));
      default -> TextNode.valueOf(text);
    };
  }

  private static long integer(String type, String text) {
    try {
      long v = Long.parseLong(text);
      boolean inRange =
          switch (type) {
            case "int2" -> v >= Short.MIN_VALUE && v <= Short.MAX_VALUE;
            case "int4" -> v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE;
            case "oid" -> v >= 0 && v <= 0xFFFF_FFFFL;
            default -> true;
          };
      if (!inRange) {
        throw invalid(type, text, "out of range");
      }
      return v;
    } catch (NumberFormatException e) {
      throw invalid(type, text, "not an integer");
    }
  }

  private static JsonNode decimal(String type, String text, boolean floating) {
    switch (text) {
      case "NaN", "Infinity", "-Infinity" -> {
        return TextNode.valueOf(text);
      }
      default -> {
        // PostgreSQL's float output may use an exponent (1e+30); numeric output never does.
        if (!floating && (text.indexOf('e') >= 0 || text.indexOf('E') >= 0)) {
          throw invalid(type, text, "not a number");
        }
        try {
          return DecimalNode.valueOf(new BigDecimal(text));
        } catch (NumberFormatException e) {
          throw invalid(type, text, "not a number");
        }
      }
    }
  }

  private static boolean bool(String text) {
    return switch (text) {
      case "t", "true" -> true;
      case "f", "false" -> false;
      default -> throw invalid("bool", text, "expected t or f");
    };
  }

  private static JsonNode json(String type, String text) {
    try {
      JsonNode node = JSON_READER.readTree(text);
      if (node == null || node.isMissingNode()) {
        throw invalid(type, text, "empty");
      }
      return node;
    } catch (IOException e) {
      String reason = e.getMessage() == null ? "unreadable" : e.getMessage().lines().findFirst().orElse("");
      throw invalid(type, text, "not valid JSON: " + reason);
    }
  }

  /** {@code 2026-01-02 03:04:05.123456} becomes {@code 2026-01-02T03:04:05.123456}. */
  private static String isoTimestamp(String text) {
    int space = text.indexOf(' ');
    if (space < 0 || text.isEmpty() || !Character.isDigit(text.charAt(0))) {
      return text; // infinity, -infinity
    }
    return text.substring(0, space) + 'T' + text.substring(space + 1);
  }

  /**
   * {@code 2026-01-02 03:04:05.12+00} becomes {@code 2026-01-02T03:04:05.12+00:00}: a {@code T} between
   * date and time and an offset of at least {@code ±HH:MM} (seconds stay when present).
   */
  private static String isoTimestampTz(String text) {
    String iso = isoTimestamp(text);
    int t = iso.indexOf('T');
    if (t < 0) {
      return iso;
    }
    int sign = -1;
    for (int i = t + 1; i < iso.length(); i++) {
      char c = iso.charAt(i);
      if (c == '+' || c == '-') {
        sign = i;
        break;
      }
    }
    if (sign < 0) {
      return iso;
    }
    int end = iso.indexOf(' ', sign); // " BC" may follow the offset
    if (end < 0) {
      end = iso.length();
    }
    String offset = iso.substring(sign, end);
    if (offset.length() == 3) { // +HH
      offset = offset + ":00";
    }
    return iso.substring(0, sign) + offset + iso.substring(end);
  }

  private static IllegalArgumentException invalid(String type, String text, String why) {
    String shown = text.length() > 100 ? text.substring(0, 100) + "..." : text;
    return new IllegalArgumentException("invalid " + type + " value \"" + shown + "\": " + why);
  }

  /**
   * Reads PostgreSQL's array literal syntax ({@code array_out}): optional dimension decoration
   * {@code [lo:hi][lo:hi]=}, braces per dimension, elements separated by the element type's delimiter,
   * double-quoted elements with backslash escapes, unquoted {@code NULL} for SQL NULL.
   */
  private static final class ArrayParser {
    private final String text;
    private final String type;
    private final String element;
    private final char delimiter;
    private int pos;

    ArrayParser(String text, String type, String element, char delimiter) {
      this.text = text;
      this.type = type;
      this.element = element;
      this.delimiter = delimiter;
    }

    JsonNode parse() {
      skipSpace();
      if (peek() == '[') {
        skipDimensions();
      }
      skipSpace();
      ArrayNode result = level();
      skipSpace();
      if (pos != text.length()) {
        throw malformed("unexpected text after the closing '}'");
      }
      return result;
    }

    private void skipDimensions() {
      while (peek() == '[') {
        int close = text.indexOf(']', pos);
        if (close < 0 || !text.substring(pos + 1, close).matches("\\s*-?\\d+\\s*(:\\s*-?\\d+\\s*)?")) {
          throw malformed("a dimension must look like [lower:upper]");
        }
        pos = close + 1;
        skipSpace();
      }
      if (peek() != '=') {
        throw malformed("expected '=' after the dimensions");
      }
      pos++;
    }

    private ArrayNode level() {
      if (peek() != '{') {
        throw malformed("expected '{'");
      }
      pos++;
      ArrayNode out = Json.MAPPER.createArrayNode();
      skipSpace();
      if (peek() == '}') {
        pos++;
        return out;
      }
      while (true) {
        skipSpace();
        char c = peek();
        if (c == '{') {
          out.add(level());
        } else if (c == '"') {
          out.add(toJson(element, quoted()));
        } else {
          String raw = unquoted();
          out.add(raw == null ? NullNode.instance : toJson(element, raw));
        }
        skipSpace();
        c = peek();
        if (c == delimiter) {
          pos++;
        } else if (c == '}') {
          pos++;
          return out;
        } else {
          throw malformed(pos >= text.length() ? "missing '}'" : "expected '" + delimiter + "' or '}'");
        }
      }
    }

    private String quoted() {
      pos++; // opening quote
      StringBuilder sb = new StringBuilder();
      while (pos < text.length()) {
        char c = text.charAt(pos++);
        if (c == '"') {
          return sb.toString();
        }
        if (c == '\\') {
          if (pos >= text.length()) {
            break;
          }
          c = text.charAt(pos++);
        }
        sb.append(c);
      }
      throw malformed("unterminated quoted element");
    }

    /** An unquoted element, or null for {@code NULL}. */
    private String unquoted() {
      StringBuilder sb = new StringBuilder();
      int kept = 0; // length of sb up to its last escaped or non-space character
      boolean escaped = false;
      while (pos < text.length()) {
        char c = text.charAt(pos);
        if (c == delimiter || c == '}' || c == '{' || c == '"') {
          break;
        }
        pos++;
        if (c == '\\') {
          if (pos >= text.length()) {
            throw malformed("backslash at the end");
          }
          sb.append(text.charAt(pos++));
          kept = sb.length();
          escaped = true;
        } else {
          sb.append(c);
          if (!Character.isWhitespace(c)) {
            kept = sb.length();
          }
        }
      }
      sb.setLength(kept);
      if (sb.length() == 0) {
        throw malformed("empty unquoted element");
      }
      String s = sb.toString();
      return !escaped && s.equalsIgnoreCase("NULL") ? null : s;
    }

    private char peek() {
      return pos < text.length() ? text.charAt(pos) : '\0';
    }

    private void skipSpace() {
      while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
        pos++;
      }
    }

    private IllegalArgumentException malformed(String why) {
      String shown = text.length() > 100 ? text.substring(0, 100) + "..." : text;
      return new IllegalArgumentException(
          "malformed " + type + " array literal \"" + shown + "\": " + why + " at offset "
              + Math.min(pos, text.length()));
    }
  }
}
