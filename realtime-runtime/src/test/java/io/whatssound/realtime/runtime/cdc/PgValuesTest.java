package io.whatssound.realtime.runtime.cdc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.whatssound.realtime.runtime.protocol.Json;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class PgValuesTest {
  /** The JSON text the value serializes to. */
  private static String json(String type, String text) {
    return new String(Json.bytes(PgValues.toJson(type, text)), StandardCharsets.UTF_8);
  }

  @Test
  void nullIsJsonNullForEveryType() {
    assertTrue(PgValues.toJson("int4", null).isNull());
    assertTrue(PgValues.toJson("_text", null).isNull());
    assertTrue(PgValues.toJson("mood", null).isNull());
  }

  @Test
  void integersAreIntegerNumbers() {
    assertEquals("42", json("int2", "42"));
    assertEquals("-32768", json("int2", "-32768"));
    assertEquals("-2147483648", json("int4", "-2147483648"));
    assertEquals("9223372036854775807", json("int8", "9223372036854775807"));
    assertEquals("4294967295", json("oid", "4294967295"));
    assertTrue(PgValues.toJson("int4", "7").isInt());
    assertTrue(PgValues.toJson("int8", "7").isIntegralNumber());
  }

  @Test
  void integersOutOfRangeOrNotNumbersSayWhat() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("int2", "40000"));
    assertEquals("invalid int2 value \"40000\": out of range", e.getMessage());
    assertEquals("invalid int4 value \"1.5\": not an integer",
        assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("int4", "1.5")).getMessage());
    assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("oid", "-1"));
  }

  @Test
  void floatsAreNumbersExceptTheValuesJsonCannotHold() {
    assertEquals("1.5", json("float8", "1.5"));
    assertEquals("0.1", json("float4", "0.1"));
    assertEquals("-3.25", json("float4", "-3.25"));
    assertEquals(1e30, PgValues.toJson("float8", "1e+30").doubleValue());
    assertEquals(1.2345e-5, PgValues.toJson("float8", "1.2345e-05").doubleValue());
    assertTrue(PgValues.toJson("float8", "1e+30").isNumber());
    assertEquals("\"NaN\"", json("float8", "NaN"));
    assertEquals("\"Infinity\"", json("float4", "Infinity"));
    assertEquals("\"-Infinity\"", json("float8", "-Infinity"));
    assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("float8", "abc"));
  }

  @Test
  void numericKeepsEveryDigit() {
    String many = "123456789012345678901234567890.123456789012345678901234567890";
    assertEquals(many, json("numeric", many));
    assertEquals(new BigDecimal(many), PgValues.toJson("numeric", many).decimalValue());
    assertEquals("12.50", json("numeric", "12.50"), "trailing zeros are digits too");
    assertEquals("100", json("numeric", "100"), "not 1E+2");
    assertEquals("-0.000001", json("numeric", "-0.000001"));
    assertEquals(0, new BigDecimal("0.0000001").compareTo(PgValues.toJson("numeric", "0.0000001").decimalValue()));
    assertEquals("\"NaN\"", json("numeric", "NaN"));
    assertEquals("\"Infinity\"", json("numeric", "Infinity"));
    assertEquals("\"-Infinity\"", json("numeric", "-Infinity"));
    assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("numeric", "1e5"));
    assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("numeric", "twelve"));
  }

  @Test
  void booleans() {
    assertEquals("true", json("bool", "t"));
    assertEquals("false", json("bool", "f"));
    assertEquals("invalid bool value \"x\": expected t or f",
        assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("bool", "x")).getMessage());
  }

  @Test
  void jsonAndJsonbAreParsed() {
    assertEquals("{\"a\":1,\"b\":[true,null,\"ü\"],\"c\":{\"d\":1.50}}", json("jsonb", "{\"a\": 1, \"b\": [true, null, \"ü\"], \"c\": {\"d\": 1.50}}"));
    assertEquals("12345678901234567890.12345678901234567890", json("json", "12345678901234567890.12345678901234567890"));
    assertEquals("\"just a string\"", json("json", "\"just a string\""));
    assertEquals("null", json("jsonb", "null"));
    assertTrue(PgValues.toJson("jsonb", "null").isNull());
    assertEquals("[]", json("json", " [ ] "));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("jsonb", "{\"a\":"));
    assertTrue(e.getMessage().startsWith("invalid jsonb value \"{\"a\":\": not valid JSON"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("json", "1 2"));
    assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("json", ""));
  }

  @Test
  void timestampsBecomeIso8601() {
    assertEquals("\"2026-01-02T03:04:05.123456\"", json("timestamp", "2026-01-02 03:04:05.123456"));
    assertEquals("\"2026-01-02T03:04:05\"", json("timestamp", "2026-01-02 03:04:05"));
    assertEquals("\"0044-03-15T00:00:00 BC\"", json("timestamp", "0044-03-15 00:00:00 BC"), "as to_jsonb gives it");
    assertEquals("\"infinity\"", json("timestamp", "infinity"));
    assertEquals("\"-infinity\"", json("timestamptz", "-infinity"));
  }

  @Test
  void timestampOffsetsBecomePlusHoursColonMinutes() {
    assertEquals("\"2026-01-02T03:04:05.12+00:00\"", json("timestamptz", "2026-01-02 03:04:05.12+00"));
    assertEquals("\"2026-01-02T03:04:05-08:00\"", json("timestamptz", "2026-01-02 03:04:05-08"));
    assertEquals("\"2026-01-02T08:34:05+05:30\"", json("timestamptz", "2026-01-02 08:34:05+05:30"));
    assertEquals("\"1900-01-01T00:19:32+00:19:32\"", json("timestamptz", "1900-01-01 00:19:32+00:19:32"), "local mean time");
    assertEquals("\"0044-03-15T05:53:28+05:53:28 BC\"", json("timestamptz", "0044-03-15 05:53:28+05:53:28 BC"));
    assertEquals("\"0044-03-15T00:00:00+00:00 BC\"", json("timestamptz", "0044-03-15 00:00:00+00 BC"));
  }

  @Test
  void everythingElseIsTheTextAsIs() {
    for (String[] tv : new String[][] {
        {"text", "héllo 🎵"}, {"varchar", " x "}, {"bpchar", "ab  "}, {"uuid", "9b2c1a1e-2f5e-4a8e-9a43-0f3a1c2d4e5f"},
        {"date", "2026-01-02"}, {"time", "03:04:05.5"}, {"timetz", "03:04:05+02"}, {"interval", "1 day 02:00:00"},
        {"bytea", "\\x00ff"}, {"money", "$1,000.00"}, {"inet", "10.0.0.1/8"}, {"int4range", "[1,5)"},
        {"mood", "happy"}, {"some_unknown_type", "{not an array}"}, {"text", ""}}) {
      assertEquals(tv[1], PgValues.toJson(tv[0], tv[1]).textValue(), tv[0]);
    }
  }

  @Test
  void arraysConvertEachElementByTheElementType() {
    assertEquals("[1,2,null]", json("_int4", "{1,2,NULL}"));
    assertEquals("[10,-20]", json("_int8", "{10,-20}"));
    assertEquals("[1,2]", json("_int2", "{1,2}"));
    assertEquals("[1.5,\"NaN\",\"-Infinity\"]", json("_float8", "{1.5,NaN,-Infinity}"));
    assertEquals("[0.5]", json("_float4", "{0.5}"));
    assertEquals("[1.10,123456789012345678901234567890.5]", json("_numeric", "{1.10,123456789012345678901234567890.5}"));
    assertEquals("[true,false,null]", json("_bool", "{t,f,NULL}"));
    assertEquals("[\"a\",\"b\"]", json("_text", "{a,b}"));
    assertEquals("[\"x\"]", json("_varchar", "{x}"));
    assertEquals("[\"ab \"]", json("_bpchar", "{\"ab \"}"));
    assertEquals("[\"9b2c1a1e-2f5e-4a8e-9a43-0f3a1c2d4e5f\"]", json("_uuid", "{9b2c1a1e-2f5e-4a8e-9a43-0f3a1c2d4e5f}"));
    assertEquals("[{\"a\":1},[1,2],null]", json("_jsonb", "{\"{\\\"a\\\": 1}\",\"[1, 2]\",NULL}"));
    assertEquals("[{\"a\":\"b\"}]", json("_json", "{\"{\\\"a\\\":\\\"b\\\"}\"}"));
    assertEquals("[\"2026-01-02T08:34:05+05:30\",null]", json("_timestamptz", "{\"2026-01-02 08:34:05+05:30\",NULL}"));
    assertEquals("[\"2026-01-02T03:04:05\"]", json("_timestamp", "{\"2026-01-02 03:04:05\"}"));
    assertEquals("[\"2026-01-02\"]", json("_date", "{2026-01-02}"));
    assertEquals("[\"happy\",\"sad\"]", json("_mood", "{happy,sad}"), "enum arrays hold strings");
  }

  @Test
  void quotedElementsAndEscapes() {
    // array_out as PostgreSQL 15 printed '{"a,b",NULL,"c\"d"}'::text[]
    assertEquals("[\"a,b\",null,\"c\\\"d\"]", json("_text", "{\"a,b\",NULL,\"c\\\"d\"}"));
    assertEquals("[\"a b\",\"\",\"NULL\",null]", json("_text", "{\"a b\",\"\",\"NULL\",NULL}"), "quoted NULL is a string");
    assertEquals("[\"x\\\\y\"]", json("_text", "{\"x\\\\y\"}"), "an escaped backslash");
    JsonNode special = PgValues.toJson("_text", "{\"{}\",\"a}b\",é🎵}");
    assertEquals(List.of("{}", "a}b", "é🎵"), List.of(special.get(0).textValue(), special.get(1).textValue(), special.get(2).textValue()));
    assertEquals("[\"null\",\"Null \",null]", json("_text", "{\"null\",Null\\ ,null}"),
        "an escaped space is kept and makes NULL a string; unquoted NULL is case-insensitive");
    assertEquals("[\"a\",\"b\"]", json("_text", " { a , b } "), "whitespace around unquoted elements is not part of them");
    assertEquals("[\"a,b\"]", json("_text", "{a\\,b}"), "an escaped delimiter in an unquoted element");
    assertEquals("[\"1\"]", json("_text", "{1}"));
  }

  @Test
  void nestedAndEmptyArraysAndDimensions() {
    assertEquals("[[1,2],[3,4]]", json("_int4", "{{1,2},{3,4}}"));
    assertEquals("[[[\"a\"]],[[\"b\"]]]", json("_text", "{{{a}},{{b}}}"));
    assertEquals("[]", json("_int4", "{}"));
    assertEquals("[1,2]", json("_int4", "[0:1]={1,2}"));
    assertEquals("[[1],[2]]", json("_int4", "[1:2][-3:-3]={{1},{2}}"));
    assertEquals("[\"(1,1),(0,0)\",\"(2,2),(1,1)\"]", json("_box", "{(1,1),(0,0);(2,2),(1,1)}"), "box arrays use ';'");
  }

  @Test
  void malformedArrayLiteralsSayWhereAndWhy() {
    assertEquals("malformed _int4 array literal \"{1,2\": missing '}' at offset 4",
        assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("_int4", "{1,2")).getMessage());
    assertEquals("malformed _text array literal \"1,2\": expected '{' at offset 0",
        assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("_text", "1,2")).getMessage());
    assertEquals("malformed _text array literal \"{a}x\": unexpected text after the closing '}' at offset 3",
        assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("_text", "{a}x")).getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("_text", "{\"a}"))
        .getMessage().contains("unterminated quoted element"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("_text", "{a,,b}"))
        .getMessage().contains("empty unquoted element"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("_int4", "[0:1]{1,2}"))
        .getMessage().contains("expected '=' after the dimensions"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("_int4", "[x]={1}"))
        .getMessage().contains("a dimension must look like [lower:upper]"));
    assertEquals("invalid int4 value \"x\": not an integer",
        assertThrows(IllegalArgumentException.class, () -> PgValues.toJson("_int4", "{1,x}")).getMessage());
  }

  @Test
  void typeNamesOfBuiltInOids() {
    assertEquals("bool", PgTypes.name(16).orElseThrow());
    assertEquals("int8", PgTypes.name(20).orElseThrow());
    assertEquals("timestamptz", PgTypes.name(1184).orElseThrow());
    assertEquals("jsonb", PgTypes.name(3802).orElseThrow());
    assertEquals("_int4", PgTypes.name(1007).orElseThrow());
    assertEquals("_text", PgTypes.name(1009).orElseThrow());
    assertEquals("_json", PgTypes.name(199).orElseThrow());
    assertEquals("_jsonb", PgTypes.name(3807).orElseThrow());
    assertEquals("_numeric", PgTypes.name(1231).orElseThrow());
    assertEquals("_bpchar", PgTypes.name(1014).orElseThrow());
    assertEquals("_int8range", PgTypes.name(3927).orElseThrow());
    assertFalse(PgTypes.name(16385).isPresent(), "user types are looked up by the caller");
    assertFalse(PgTypes.name(-5).isPresent());
    assertEquals(OptionalInt.of(2951), PgTypes.oid("_uuid"));
    assertEquals(OptionalInt.empty(), PgTypes.oid("mood"));
    assertTrue(PgTypes.isArray("_int4"));
    assertFalse(PgTypes.isArray("int4"));
    assertFalse(PgTypes.isArray("_"));
  }

  @Test
  void everyKnownArrayTypeIsNamedAfterItsElementType() {
    int[] elements = {16, 17, 18, 19, 20, 21, 23, 25, 26, 114, 142, 650, 700, 701, 790, 829, 869, 1042, 1043, 1082,
        1083, 1114, 1184, 1186, 1266, 1560, 1562, 1700, 2950, 3802, 3904, 3906, 3908, 3910, 3912, 3926};
    int[] arrays = {1000, 1001, 1002, 1003, 1016, 1005, 1007, 1009, 1028, 199, 143, 651, 1021, 1022, 791, 1040, 1041,
        1014, 1015, 1182, 1183, 1115, 1185, 1187, 1270, 1561, 1563, 1231, 2951, 3807, 3905, 3907, 3909, 3911, 3913, 3927};
    for (int i = 0; i < elements.length; i++) {
      String element = PgTypes.name(elements[i]).orElseThrow(() -> new AssertionError("missing element type"));
      assertEquals("_" + element, PgTypes.name(arrays[i]).orElseThrow(), "array of " + element);
      assertEquals(OptionalInt.of(elements[i]), PgTypes.oid(element));
    }
  }

  @Test
  void convertedValuesAreUsableJsonNodes() {
    JsonNode arr = PgValues.toJson("_int8", "{1,2}");
    assertTrue(arr.isArray());
    assertEquals(2L, arr.get(1).longValue());
  }
}
