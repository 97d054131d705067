package io.whatssound.realtime.runtime.cdc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whatssound.realtime.runtime.cdc.ChangeFilter.Condition;
import io.whatssound.realtime.runtime.cdc.ChangeFilter.Operator;
import io.whatssound.realtime.runtime.protocol.Json;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ChangeFilterTest {
  private static final Map<String, String> TYPES =
      Map.of("id", "int8", "n", "int4", "price", "numeric", "score", "float8", "name", "text", "code", "varchar",
          "done", "bool", "status", "mood", "at", "timestamptz", "meta", "jsonb");

  /** A record as PgValues converts it, from column → PostgreSQL text (null for NULL). */
  private static ObjectNode row(String... columnThenText) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    for (int i = 0; i < columnThenText.length; i += 2) {
      o.set(columnThenText[i], PgValues.toJson(TYPES.get(columnThenText[i]), columnThenText[i + 1]));
    }
    return o;
  }

  private static boolean matches(String filter, ObjectNode record) {
    ChangeFilter f = ChangeFilter.parse(filter);
    f.validate(TYPES);
    return f.matches(record, TYPES);
  }

  private static String parseError(String filter) {
    return assertThrows(IllegalArgumentException.class, () -> ChangeFilter.parse(filter)).getMessage();
  }

  private static String validateError(String filter) {
    ChangeFilter f = ChangeFilter.parse(filter);
    return assertThrows(IllegalArgumentException.class, () -> f.validate(TYPES)).getMessage();
  }

  // ------------------------------------------------------------------ syntax

  @Test
  void parsesConditions() {
    ChangeFilter f = ChangeFilter.parse("status=not.eq.done,id=in.(1,2,\"3,4\"),name=is.NULL,price=gt.1.5");
    assertEquals(
        List.of(new Condition("status", true, Operator.EQ, List.of("done")),
            new Condition("id", false, Operator.IN, List.of("1", "2", "3,4")),
            new Condition("name", false, Operator.IS, List.of("null")),
            new Condition("price", false, Operator.GT, List.of("1.5"))),
        f.conditions());
    assertEquals(List.of("status", "id", "name", "price"), List.copyOf(f.columns()));
    assertEquals("status=not.eq.done,id=in.(1,2,\"3,4\"),name=is.NULL,price=gt.1.5", f.source());
    assertEquals(ChangeFilter.parse("id=eq.1"), ChangeFilter.parse("id=eq.1"));
  }

  @Test
  void valuesMayHoldDotsEqualsSignsAndQuotedCommas() {
    assertEquals("a.b=c", ChangeFilter.parse("name=eq.a.b=c").conditions().get(0).value());
    assertEquals("", ChangeFilter.parse("name=eq.").conditions().get(0).value());
    assertEquals("x,y", ChangeFilter.parse("name=eq.\"x,y\"").conditions().get(0).value());
    assertEquals("say \"hi\"", ChangeFilter.parse("name=eq.\"say \\\"hi\\\"\"").conditions().get(0).value());
    assertEquals(List.of(" a ", "b", "c)d", "", "e\"f"),
        ChangeFilter.parse("name=in.(\" a \", b ,\"c)d\",\"\",\"e\\\"f\")").conditions().get(0).values());
    assertEquals(List.of(), ChangeFilter.parse("name=in.()").conditions().get(0).values());
  }

  @Test
  void unknownOperatorsNameTheValidOnes() {
    assertEquals("invalid filter \"id=xx.1\": unknown operator \"xx\" (use eq, neq, lt, lte, gt, gte, in, like, ilike, is)",
        parseError("id=xx.1"));
    assertEquals("invalid filter \"id=not.not.eq.1\": unknown operator \"not\" (use eq, neq, lt, lte, gt, gte, in, like, ilike, is)",
        parseError("id=not.not.eq.1"));
    assertTrue(parseError("id=").contains("no operator after \"id=\""));
  }

  @Test
  void malformedFiltersSayWhatIsWrong() {
    assertEquals("invalid filter \"\": it is empty (use column=op.value, e.g. id=eq.1)", parseError(""));
    assertTrue(parseError(null).contains("it is empty"));
    assertEquals("invalid filter \"id\": condition \"id\" must look like column=op.value, e.g. id=eq.1", parseError("id"));
    assertEquals("invalid filter \"=eq.1\": condition \"=eq.1\" names no column before '='", parseError("=eq.1"));
    assertEquals("invalid filter \"id=eq\": operator \"eq\" needs a value: id=eq.<value>", parseError("id=eq"));
    assertTrue(parseError("id=eq.1,").contains("empty condition"));
    assertTrue(parseError("id=eq.1,,n=eq.2").contains("empty condition"));
    assertEquals("invalid filter \"id=in.1,2\": in takes a list in parentheses, e.g. in.(1,2,3), not \"1\"", parseError("id=in.1,2"));
    assertTrue(parseError("id=in.(1,2").contains("a '(' is not closed"));
    assertTrue(parseError("id=in.1,2)").contains("a ')' at position 10 has no matching '('"));
    assertTrue(parseError("name=eq.\"abc").contains("a double quote is not closed"));
    assertTrue(parseError("id=in.(1,,2)").contains("in-list item 2 is empty"));
    assertTrue(parseError("id=in.(\"1\"x)").contains("in-list item 1 has text after its closing quote"));
    assertEquals("invalid filter \"done=is.maybe\": is takes null, true or false, not \"maybe\"", parseError("done=is.maybe"));
    assertTrue(parseError("name=like.abc\\").contains("ends with a lone backslash"));
    String longFilter = "name=zz." + "x".repeat(500);
    assertTrue(parseError(longFilter).length() < 400, "long filters are cut in messages");
  }

  @Test
  void validationReportsUnknownColumnsWithTheTablesColumns() {
    ChangeFilter f = ChangeFilter.parse("id=eq.1,idx=eq.2");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.validate(Set.of("name", "id")));
    assertEquals("invalid filter \"id=eq.1,idx=eq.2\": the table has no column \"idx\" (its columns: id, name)", e.getMessage());
    ChangeFilter.parse("id=eq.1").validate(Set.of("id"));
  }

  @Test
  void validationChecksValuesAgainstColumnTypes() {
    assertEquals("invalid filter \"id=eq.abc\": \"abc\" is not a number, but column \"id\" is int8", validateError("id=eq.abc"));
    assertTrue(validateError("price=in.(1,x)").contains("\"x\" is not a number, but column \"price\" is numeric"));
    assertTrue(validateError("done=eq.maybe").contains("\"maybe\" is not a boolean (use true or false), but column \"done\" is bool"));
    assertTrue(validateError("id=like.1%").contains("like compares text, but column \"id\" is int8"));
    assertTrue(validateError("done=ilike.t%").contains("ilike compares text, but column \"done\" is bool"));
    assertTrue(validateError("name=is.true").contains("is.true needs a bool column, but column \"name\" is text"));
    for (String ok : List.of("id=eq.-5", "score=lt.NaN", "score=gt.-Infinity", "price=in.(1, 2.5 ,\"3\")", "done=eq.t",
        "done=is.false", "name=is.null", "id=is.null", "at=gte.2026-01-01", "status=in.(happy,sad)", "name=ilike.%x%")) {
      ChangeFilter.parse(ok).validate(TYPES);
    }
  }

  // ------------------------------------------------------------------ operators

  @Test
  void eqAndNeq() {
    assertTrue(matches("id=eq.5", row("id", "5")));
    assertFalse(matches("id=eq.5", row("id", "6")));
    assertTrue(matches("id=neq.5", row("id", "6")));
    assertFalse(matches("id=neq.5", row("id", "5")));
    assertTrue(matches("name=eq.héllo 🎵", row("name", "héllo 🎵")));
    assertFalse(matches("name=eq.Hello", row("name", "hello")));
    assertTrue(matches("price=eq.1.50", row("price", "1.5")), "numbers compare by value, not by text");
    assertTrue(matches("price=eq.1e2", row("price", "100")));
    assertTrue(matches("status=eq.happy", row("status", "happy")), "enums compare as text");
    assertTrue(matches("name=eq.", row("name", "")));
  }

  @Test
  void orderingComparesNumbersNumericallyAndTextByCodePoint() {
    assertTrue(matches("n=gt.9", row("n", "10")));
    assertFalse(matches("name=gt.9", row("name", "10")), "\"10\" < \"9\" as text");
    assertTrue(matches("name=lt.9", row("name", "10")));
    assertTrue(matches("id=lt.10", row("id", "9")));
    assertFalse(matches("id=lt.9", row("id", "9")));
    assertTrue(matches("id=lte.9", row("id", "9")));
    assertFalse(matches("id=lte.8", row("id", "9")));
    assertTrue(matches("id=gte.9", row("id", "9")));
    assertFalse(matches("id=gte.10", row("id", "9")));
    assertFalse(matches("id=gt.9", row("id", "9")));
    assertTrue(matches("id=gt.-1", row("id", "0")));
    assertTrue(matches("id=gt.9223372036854775806", row("id", "9223372036854775807")));
    assertTrue(matches("price=lt.0.30000000000000000001", row("price", "0.3")));
    assertTrue(matches("score=lt.0.25", row("score", "0.125")));
    assertTrue(matches("name=gt.\uFFFF", row("name", "🎵")), "code point order (C collation), not UTF-16 order");
    assertTrue(matches("name=gt.abc", row("name", "abcd")));
    assertTrue(matches("at=gt.2026-01-01T00:00:00+00:00", row("at", "2026-01-02 03:04:05+00")));
  }

  @Test
  void specialFloatValuesOrderLikePostgres() {
    assertTrue(matches("score=gt.1e308", row("score", "Infinity")));
    assertTrue(matches("score=gt.Infinity", row("score", "NaN")), "NaN sorts above everything");
    assertTrue(matches("score=eq.NaN", row("score", "NaN")));
    assertTrue(matches("score=lt.-1e308", row("score", "-Infinity")));
    assertTrue(matches("price=gt.99999999999999999999", row("price", "NaN")));
  }

  @Test
  void booleansCompareAsBooleans() {
    assertTrue(matches("done=eq.true", row("done", "t")));
    assertTrue(matches("done=eq.t", row("done", "t")));
    assertFalse(matches("done=eq.true", row("done", "f")));
    assertTrue(matches("done=neq.TRUE", row("done", "f")));
    assertTrue(matches("done=lt.true", row("done", "f")));
  }

  @Test
  void inMatchesAnyItem() {
    assertTrue(matches("id=in.(1,2,3)", row("id", "2")));
    assertFalse(matches("id=in.(1,2,3)", row("id", "4")));
    assertTrue(matches("price=in.(1.0,\"2.50\")", row("price", "2.5")));
    assertTrue(matches("name=in.(\"a,b\",c)", row("name", "a,b")));
    assertFalse(matches("name=in.(\"a,b\",c)", row("name", "a")));
    assertTrue(matches("name=in.(\"say \\\"hi\\\"\")", row("name", "say \"hi\"")));
    assertFalse(matches("id=in.()", row("id", "1")));
    assertTrue(matches("id=not.in.()", row("id", "1")));
    assertTrue(matches("status=in.(happy,sad)", row("status", "sad")));
  }

  @Test
  void likeAndIlike() {
    assertTrue(matches("name=like.%bc", row("name", "abc")));
    assertTrue(matches("name=like.a%", row("name", "abc")));
    assertTrue(matches("name=like.%", row("name", "")));
    assertTrue(matches("name=like.a_c", row("name", "abc")));
    assertFalse(matches("name=like.a_c", row("name", "abbc")));
    assertFalse(matches("name=like.a_c", row("name", "ac")));
    assertTrue(matches("name=like.a%c%e", row("name", "abcdcxe")));
    assertFalse(matches("name=like.a%c%e", row("name", "abcdcx")));
    assertFalse(matches("name=like.ABC", row("name", "abc")), "like is case-sensitive");
    assertTrue(matches("name=like._🎵_", row("name", "a🎵b")), "_ is one character, even outside the BMP");
    assertTrue(matches("name=like.100\\%", row("name", "100%")));
    assertFalse(matches("name=like.100\\%", row("name", "1000")));
    assertTrue(matches("name=like.a\\_b", row("name", "a_b")));
    assertFalse(matches("name=like.a\\_b", row("name", "axb")));
    assertTrue(matches("name=like.a\\\\b", row("name", "a\\b")));
    assertTrue(matches("name=like.a.b%", row("name", "a.bc")), "regex characters are literal");
    assertFalse(matches("name=like.a.b%", row("name", "axbc")));
    assertTrue(matches("name=ilike.%HÉLLO%", row("name", "say héllo there")));
    assertTrue(matches("name=ilike.straße", row("name", "STRAßE")));
    assertFalse(matches("name=ilike.abc_", row("name", "ABC")));
    assertTrue(matches("name=not.like.%x%", row("name", "abc")));
    assertFalse(matches("name=not.ilike.%B%", row("name", "abc")));
    assertTrue(matches("code=like.A-%", row("code", "A-17")));
  }

  @Test
  void likeWithManyWildcardsStaysFast() {
    String text = "a".repeat(20_000);
    String pattern = "%a".repeat(30) + "%b";
    long start = System.nanoTime();
    assertFalse(matches("name=like." + pattern, row("name", text)));
    assertTrue(System.nanoTime() - start < 2_000_000_000L, "no exponential backtracking");
  }

  @Test
  void isNullTrueFalse() {
    assertTrue(matches("name=is.null", row("name", null)));
    assertFalse(matches("name=is.null", row("name", "x")));
    assertTrue(matches("name=not.is.null", row("name", "x")));
    assertFalse(matches("name=not.is.null", row("name", null)));
    assertTrue(matches("done=is.true", row("done", "t")));
    assertFalse(matches("done=is.true", row("done", "f")));
    assertFalse(matches("done=is.true", row("done", null)));
    assertTrue(matches("done=is.false", row("done", "f")));
    assertFalse(matches("done=is.false", row("done", null)));
    assertTrue(matches("done=not.is.true", row("done", "f")));
    assertTrue(matches("done=not.is.true", row("done", null)), "IS NOT TRUE holds for NULL, as in SQL");
    assertFalse(matches("done=not.is.false", row("done", "f")));
    assertTrue(matches("done=IS.True", row("done", "t")), "case-insensitive");
  }

  @Test
  void comparisonsWithNullAreFalseAndSoAreTheirNegations() {
    for (String f : List.of("id=eq.1", "id=neq.1", "id=lt.1", "id=lte.1", "id=gt.1", "id=gte.1", "id=in.(1)",
        "name=like.%", "name=ilike.%", "name=eq.x")) {
      ObjectNode nulls = row("id", null, "name", null);
      assertFalse(matches(f, nulls), f);
      String negated = f.replaceFirst("=", "=not.");
      assertFalse(matches(negated, nulls), negated);
    }
  }

  @Test
  void notNegatesEveryOperator() {
    assertTrue(matches("status=not.eq.done", row("status", "open")));
    assertFalse(matches("status=not.eq.done", row("status", "done")));
    assertTrue(matches("id=not.neq.1", row("id", "1")));
    assertTrue(matches("id=not.lt.1", row("id", "1")));
    assertFalse(matches("id=not.lte.1", row("id", "1")));
    assertTrue(matches("id=not.gt.1", row("id", "1")));
    assertFalse(matches("id=not.gte.1", row("id", "1")));
    assertTrue(matches("id=not.in.(2,3)", row("id", "1")));
    assertFalse(matches("id=not.in.(1,3)", row("id", "1")));
  }

  @Test
  void commasJoinConditionsThatMustAllHold() {
    ObjectNode r = row("id", "5", "name", "abc", "done", "t");
    assertTrue(matches("id=gt.1,name=like.a%,done=is.true", r));
    assertFalse(matches("id=gt.1,name=like.b%,done=is.true", r));
    assertFalse(matches("id=gt.10,name=like.a%", r));
    assertTrue(matches("id=in.(4,5),name=in.(\"abc\",\"x,y\")", r));
  }

  @Test
  void columnsTheRecordLacksMatchNothing() {
    ObjectNode r = row("id", "1");
    assertFalse(matches("name=is.null", r));
    assertFalse(matches("name=not.eq.x", r));
    assertTrue(ChangeFilter.all().matches(r, TYPES));
    assertTrue(ChangeFilter.all().conditions().isEmpty());
  }

  @Test
  void columnsWithoutAKnownTypeCompareAsText() {
    ChangeFilter f = ChangeFilter.parse("x=gt.9");
    ObjectNode r = Json.MAPPER.createObjectNode().put("x", "10");
    assertFalse(f.matches(r, Map.of()));
    assertTrue(f.matches(r, Map.of("x", "int4")), "the same text value compares as a number for a numeric column");
  }

  @Test
  void unparseableValuesThatSkippedValidationNeverMatch() {
    ChangeFilter f = ChangeFilter.parse("id=eq.abc");
    assertFalse(f.matches(row("id", "1"), TYPES));
    assertFalse(ChangeFilter.parse("id=not.eq.abc").matches(row("id", "1"), TYPES));
  }

  @Test
  void jsonColumnsCompareByTheirJsonText() {
    assertTrue(matches("meta=eq.{\"a\":1}", row("meta", "{\"a\": 1}")));
    assertTrue(matches("meta=eq.x", row("meta", "\"x\"")), "a JSON string compares as its content");
    assertFalse(matches("meta=eq.{\"a\":2}", row("meta", "{\"a\": 1}")));
  }
}
