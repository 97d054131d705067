package io.whatssound.realtime.runtime.cdc;

import static io.whatssound.realtime.runtime.cdc.MessageBytes.UNCHANGED;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Begin;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Column;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Commit;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Delete;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Insert;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.LogicalMessage;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Origin;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Relation;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Truncate;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Tuple;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.TupleValue;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Type;
import io.whatssound.realtime.runtime.cdc.PgOutputMessage.Update;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PgOutputDecoderTest {
  private static final Instant T = Instant.parse("2026-01-02T03:04:05.123456Z");

  private static PgOutputMessage decode(MessageBytes m) throws PgOutputException {
    return PgOutputDecoder.decode(m.buffer());
  }

  private static PgOutputMessage decodeHex(String hex) throws PgOutputException {
    return PgOutputDecoder.decode(ByteBuffer.wrap(HexFormat.of().parseHex(hex)));
  }

  private static PgOutputException fails(byte[] bytes) {
    return assertThrows(PgOutputException.class, () -> PgOutputDecoder.decode(ByteBuffer.wrap(bytes)));
  }

  private static Tuple tuple(TupleValue... values) {
    return new Tuple(List.of(values));
  }

  private static TupleValue t(String s) {
    return TupleValue.text(s);
  }

  // ------------------------------------------------------------------ each message type

  @Test
  void begin() throws Exception {
    PgOutputMessage m = decode(MessageBytes.of('B').int64(0x1_0000_0010L).timestamp(T).int32(0xFFFF_FFFE));
    assertEquals(new Begin(0x1_0000_0010L, T, 4_294_967_294L), m, "xid is unsigned");
  }

  @Test
  void commitTimesBeforeThePostgresEpochAreNegativeMicroseconds() throws Exception {
    Instant before = Instant.parse("1999-12-31T23:59:59.999999Z");
    PgOutputMessage m = decode(MessageBytes.of('C').int8(0).int64(100).int64(200).timestamp(before));
    assertEquals(new Commit(100, 200, before), m);
    Commit epoch = (Commit) decode(MessageBytes.of('C').int8(0).int64(1).int64(2).int64(0));
    assertEquals(Instant.parse("2000-01-01T00:00:00Z"), epoch.commitTime());
  }

  @Test
  void origin() throws Exception {
    assertEquals(new Origin(77, "node_ä"), decode(MessageBytes.of('O').int64(77).string("node_ä")));
  }

  @Test
  void relationWithKeyFlagsTypeModifiersAndMultiByteNames() throws Exception {
    PgOutputMessage m =
        decode(MessageBytes.of('R').int32(16389).string("public").string("tëst 🎵").int8('f').int16(3)
            .int8(1).string("id").int32(20).int32(-1)
            .int8(0).string("Ünï").int32(1043).int32(14)
            .int8(0).string("mood").int32(0x8000_0001).int32(-1));
    assertEquals(
        new Relation(16389, "public", "tëst 🎵", 'f',
            List.of(new Column("id", 20, -1, true), new Column("Ünï", 1043, 14, false),
                new Column("mood", 0x8000_0001, -1, false))),
        m);
    assertEquals(2_147_483_649L, Integer.toUnsignedLong(((Relation) m).columns().get(2).typeOid()));
  }

  @Test
  void relationOfPgCatalogHasAnEmptySchemaAndMayHaveNoColumns() throws Exception {
    assertEquals(new Relation(1, "", "t", 'n', List.of()),
        decode(MessageBytes.of('R').int32(1).string("").string("t").int8('n').int16(0)));
  }

  @Test
  void type() throws Exception {
    assertEquals(new Type(16385, "public", "mood"), decode(MessageBytes.of('Y').int32(16385).string("public").string("mood")));
  }

  @Test
  void insertWithEveryValueKind() throws Exception {
    byte[] bin = {0, (byte) 0xFF, 7};
    PgOutputMessage m =
        decode(MessageBytes.of('I').int32(42).int8('N').tuple("1", null, UNCHANGED, bin, "héllo € 🎵", ""));
    Insert insert = (Insert) m;
    assertEquals(42, insert.relation());
    assertEquals(
        tuple(t("1"), TupleValue.NULL, TupleValue.UNCHANGED_TOAST, TupleValue.binary(bin), t("héllo € 🎵"), t("")),
        insert.newTuple());
    TupleValue b = insert.newTuple().get(3);
    assertEquals(TupleValue.Kind.BINARY, b.kind());
    assertArrayEquals(bin, b.binary());
    assertNull(b.text());
    assertTrue(insert.newTuple().get(1).isNull());
    assertTrue(insert.newTuple().get(2).isUnchangedToast());
    assertEquals(TupleValue.Kind.TEXT, insert.newTuple().get(4).kind());
    assertEquals(6, insert.newTuple().size());
  }

  @Test
  void updateWithoutOldValues() throws Exception {
    assertEquals(new Update(7, null, false, tuple(t("2"), TupleValue.UNCHANGED_TOAST)),
        decode(MessageBytes.of('U').int32(7).int8('N').tuple("2", UNCHANGED)));
  }

  @Test
  void updateWithTheOldKey() throws Exception {
    assertEquals(new Update(7, tuple(t("1"), TupleValue.NULL), true, tuple(t("2"), t("x"))),
        decode(MessageBytes.of('U').int32(7).int8('K').tuple("1", null).int8('N').tuple("2", "x")));
  }

  @Test
  void updateWithTheWholeOldRow() throws Exception {
    assertEquals(new Update(7, tuple(t("1"), t("a")), false, tuple(t("1"), t("b"))),
        decode(MessageBytes.of('U').int32(7).int8('O').tuple("1", "a").int8('N').tuple("1", "b")));
  }

  @Test
  void updateWithABadMarkerSaysWhichMarkersAreExpected() {
    PgOutputException e = fails(MessageBytes.of('U').int32(7).int8('X').tuple("1").array());
    assertEquals("invalid pgoutput Update ('U') message: expected a tuple marker 'K', 'O' or 'N' but found 'X' (0x58)",
        e.getMessage());
    PgOutputException afterOld = fails(MessageBytes.of('U').int32(7).int8('O').tuple("1").int8('K').tuple("1").array());
    assertTrue(afterOld.getMessage().contains("expected the new tuple marker 'N' after the old tuple but found 'K'"),
        afterOld.getMessage());
  }

  @Test
  void deleteWithKeyOrOldRow() throws Exception {
    assertEquals(new Delete(9, tuple(t("5"), TupleValue.NULL), true), decode(MessageBytes.of('D').int32(9).int8('K').tuple("5", null)));
    assertEquals(new Delete(9, tuple(t("5"), t("x")), false), decode(MessageBytes.of('D').int32(9).int8('O').tuple("5", "x")));
    PgOutputException e = fails(MessageBytes.of('D').int32(9).int8('N').tuple("5").array());
    assertTrue(e.getMessage().startsWith("invalid pgoutput Delete ('D') message: expected a tuple marker 'K' or 'O' but found 'N'"),
        e.getMessage());
  }

  @Test
  void insertNeedsTheNewTupleMarker() {
    PgOutputException e = fails(MessageBytes.of('I').int32(9).int8('O').tuple("5").array());
    assertTrue(e.getMessage().contains("Insert ('I')") && e.getMessage().contains("'N'"), e.getMessage());
  }

  @Test
  void truncateWithEachOption() throws Exception {
    assertEquals(new Truncate(List.of(1, 2), false, false), decode(MessageBytes.of('T').int32(2).int8(0).int32(1).int32(2)));
    assertEquals(new Truncate(List.of(1), true, false), decode(MessageBytes.of('T').int32(1).int8(1).int32(1)));
    assertEquals(new Truncate(List.of(1), false, true), decode(MessageBytes.of('T').int32(1).int8(2).int32(1)));
    assertEquals(new Truncate(List.of(), true, true), decode(MessageBytes.of('T').int32(0).int8(3)));
  }

  @Test
  void truncateWithAHugeCountIsReportedAsTruncatedNotAllocated() {
    PgOutputException e = fails(MessageBytes.of('T').int32(Integer.MAX_VALUE).int8(0).int32(1).array());
    assertTrue(e.getMessage().startsWith("truncated pgoutput Truncate ('T') message"), e.getMessage());
    PgOutputException negative = fails(MessageBytes.of('T').int32(-1).int8(0).array());
    assertTrue(negative.getMessage().contains("negative relation count -1"), negative.getMessage());
  }

  @Test
  void logicalMessages() throws Exception {
    byte[] content = "{\"k\":\"ü\"}".getBytes(StandardCharsets.UTF_8);
    LogicalMessage tx = (LogicalMessage) decode(MessageBytes.of('M').int8(1).int64(99).string("realtime").int32(content.length).bytes(content));
    assertTrue(tx.transactional());
    assertEquals(99, tx.lsn());
    assertEquals("realtime", tx.prefix());
    assertArrayEquals(content, tx.content());
    assertEquals("{\"k\":\"ü\"}", tx.contentText());
    assertEquals(new LogicalMessage(true, 99, "realtime", content), tx);

    LogicalMessage empty = (LogicalMessage) decode(MessageBytes.of('M').int8(0).int64(5).string("").int32(0));
    assertFalse(empty.transactional());
    assertEquals(0, empty.content().length);
  }

  // ------------------------------------------------------------------ captured from PostgreSQL 15

  /**
   * Messages a PostgreSQL 15 server produced for {@code pg_logical_slot_peek_binary_changes(...,
   * 'proto_version','2','publication_names','pub','messages','true')} on a table
   * {@code t(id int8 primary key, name text, price numeric, tags text[], mood mood, big text, "Ünï" varchar(10))}
   * with REPLICA IDENTITY FULL, and {@code u(id int primary key, v text)}.
   */
  @Test
  void messagesARealServerSent() throws Exception {
    Instant commit = Instant.parse("2026-11-22T22:19:44.363623Z");
    assertEquals(new Begin(0x1532418L, commit, 729), decodeHex("420000000001532418000303e3a49d4c67000002d9"));
    assertEquals(new Type(16385, "public", "mood"), decodeHex("59000040017075626c6963006d6f6f6400"));
    Relation t =
        (Relation) decodeHex("52000040057075626c69630074006600070169640000000014ffffffff016e616d650000000019ffffffff"
            + "01707269636500000006a4ffffffff017461677300000003f1ffffffff016d6f6f640000004001ffffffff01626967000000"
            + "0019ffffffff01c39c6ec3af00000004130000000e");
    assertEquals(16389, t.oid());
    assertEquals('f', t.replicaIdentity());
    assertEquals(
        List.of(new Column("id", 20, -1, true), new Column("name", 25, -1, true), new Column("price", 1700, -1, true),
            new Column("tags", 1009, -1, true), new Column("mood", 16385, -1, true), new Column("big", 25, -1, true),
            new Column("Ünï", 1043, 14, true)),
        t.columns(), "with REPLICA IDENTITY FULL every column is part of the key");
    Insert insert =
        (Insert) decodeHex("49000040054e0007740000000131740000000a68c3a96c6c6f20e282ac740000000531322e353074000000137b"
            + "22612c62222c4e554c4c2c22635c2264227d74000000056861707079740000000a787878787878787878787400000005c39c6ec3af");
    assertEquals(
        tuple(t("1"), t("héllo €"), t("12.50"), t("{\"a,b\",NULL,\"c\\\"d\"}"), t("happy"), t("xxxxxxxxxx"), t("Ünï")),
        insert.newTuple());
    assertEquals(new Commit(0x1532418L, 0x1532448L, commit), decodeHex("430000000000015324180000000001532448000303e3a49d4c67"));

    assertEquals(new Update(16396, tuple(t("1"), TupleValue.NULL), true, tuple(t("2"), t("x"))),
        decodeHex("550000400c4b00027400000001316e4e0002740000000132740000000178"), "primary key changed");
    assertEquals(new Update(16396, null, false, tuple(t("2"), TupleValue.NULL)), decodeHex("550000400c4e00027400000001326e"));
    assertEquals(new Delete(16396, tuple(t("2"), TupleValue.NULL), true), decodeHex("440000400c4b00027400000001326e"));
    assertEquals(new Truncate(List.of(16396, 16389), true, true), decodeHex("5400000002030000400c00004005"));
    assertEquals(new LogicalMessage(true, 0x15342c8L, "pfx", "hello".getBytes(StandardCharsets.UTF_8)),
        decodeHex("4d0100000000015342c8706678000000000568656c6c6f"));
    assertEquals(new LogicalMessage(false, 0x1534330L, "ntx", new byte[] {0, (byte) 0xFF}),
        decodeHex("4d0000000000015343306e7478000000000200ff"));
    assertEquals(new Update(16418, null, false, tuple(t("1"), TupleValue.UNCHANGED_TOAST, t("2"))),
        decodeHex("55000040224e000374000000013175740000000132"), "a TOASTed column that did not change");
  }

  // ------------------------------------------------------------------ bad input

  @Test
  void everyTruncationOfEveryMessageIsReportedWithItsType() {
    Map<String, byte[]> messages =
        Map.ofEntries(
            Map.entry("Begin ('B')", MessageBytes.of('B').int64(1).timestamp(T).int32(3).array()),
            Map.entry("Commit ('C')", MessageBytes.of('C').int8(0).int64(1).int64(2).timestamp(T).array()),
            Map.entry("Origin ('O')", MessageBytes.of('O').int64(1).string("o").array()),
            Map.entry("Relation ('R')", MessageBytes.of('R').int32(1).string("s").string("t").int8('d').int16(1)
                .int8(1).string("id").int32(23).int32(-1).array()),
            Map.entry("Type ('Y')", MessageBytes.of('Y').int32(1).string("s").string("n").array()),
            Map.entry("Insert ('I')", MessageBytes.of('I').int32(1).int8('N').tuple("ab", null, UNCHANGED, new byte[] {1}).array()),
            Map.entry("Update ('U')", MessageBytes.of('U').int32(1).int8('O').tuple("a").int8('N').tuple("b").array()),
            Map.entry("Delete ('D')", MessageBytes.of('D').int32(1).int8('K').tuple("a").array()),
            Map.entry("Truncate ('T')", MessageBytes.of('T').int32(2).int8(0).int32(1).int32(2).array()),
            Map.entry("Message ('M')", MessageBytes.of('M').int8(1).int64(1).string("p").int32(2).bytes(new byte[] {1, 2}).array()));
    messages.forEach((name, bytes) -> {
      for (int len = 1; len < bytes.length; len++) {
        byte[] prefix = Arrays.copyOf(bytes, len);
        PgOutputException e = fails(prefix);
        assertTrue(e.getMessage().startsWith("truncated pgoutput " + name + " message: "),
            name + " cut to " + len + " bytes: " + e.getMessage());
      }
    });
  }

  @Test
  void truncationMessagesSayWhichFieldWasCut() {
    assertEquals("truncated pgoutput Begin ('B') message: commit time needs 8 byte(s) at offset 9 but only 3 remain",
        fails(MessageBytes.of('B').int64(1).bytes(new byte[3]).array()).getMessage());
    assertEquals("truncated pgoutput Insert ('I') message: value of column 1 of 1 in the new tuple needs 5 byte(s) at offset 13 but only 2 remain",
        fails(MessageBytes.of('I').int32(1).int8('N').int16(1).int8('t').int32(5).bytes(new byte[] {'a', 'b'}).array()).getMessage());
    assertEquals("truncated pgoutput Relation ('R') message: table name at offset 7 has no terminating zero byte",
        fails(MessageBytes.of('R').int32(1).string("s").bytes("tab".getBytes(StandardCharsets.US_ASCII)).array()).getMessage());
  }

  @Test
  void unknownAndUnsupportedMessageTypes() {
    assertEquals("empty pgoutput message: expected at least the message type byte", fails(new byte[0]).getMessage());
    assertEquals("unknown pgoutput message type 'X' (0x58): expected one of B, C, O, R, Y, I, U, D, T, M (protocol version 2)",
        fails(new byte[] {'X', 0, 0}).getMessage());
    assertTrue(fails(new byte[] {(byte) 0xF0}).getMessage().startsWith("unknown pgoutput message type 0xF0:"));
    assertTrue(fails(new byte[] {'S', 0}).getMessage().contains("Stream Start ('S'): streaming of in-progress transactions is not supported"));
    assertTrue(fails(new byte[] {'P', 0}).getMessage().contains("Prepare ('P'): two-phase commit decoding is not supported"));
  }

  @Test
  void badTupleValueKindsAndLengths() {
    assertEquals("invalid pgoutput Insert ('I') message: unknown value kind 'x' (0x78) of column 2 of 2 in the new tuple "
            + "(expected 'n', 'u', 't' or 'b')",
        fails(MessageBytes.of('I').int32(1).int8('N').int16(2).int8('n').int8('x').array()).getMessage());
    assertEquals("invalid pgoutput Delete ('D') message: negative length -2 of column 1 of 1 in the key tuple",
        fails(MessageBytes.of('D').int32(1).int8('K').int16(1).int8('t').int32(-2).array()).getMessage());
    assertTrue(fails(MessageBytes.of('M').int8(0).int64(1).string("p").int32(-1).array()).getMessage()
        .contains("negative content length -1"));
  }

  @Test
  void trailingBytesAreAnError() {
    PgOutputException e = fails(MessageBytes.of('O').int64(1).string("o").int8(9).int8(9).array());
    assertEquals("invalid pgoutput Origin ('O') message: 2 unexpected byte(s) after the end of the message", e.getMessage());
  }

  @Test
  void readsBetweenPositionAndLimitWithoutMovingTheCallersBuffer() throws Exception {
    byte[] msg = MessageBytes.of('Y').int32(5).string("s").string("n").array();
    byte[] framed = new byte[msg.length + 4];
    System.arraycopy(msg, 0, framed, 2, msg.length);
    framed[framed.length - 1] = 'z';
    ByteBuffer buf = ByteBuffer.wrap(framed, 2, msg.length);
    assertEquals(new Type(5, "s", "n"), PgOutputDecoder.decode(buf));
    assertEquals(2, buf.position());
    assertEquals(2 + msg.length, buf.limit());
  }

  @Test
  void valuesAreImmutable() throws Exception {
    byte[] bin = {1, 2};
    TupleValue v = TupleValue.binary(bin);
    bin[0] = 9;
    v.binary()[1] = 9;
    assertArrayEquals(new byte[] {1, 2}, v.binary());
    assertThrows(IllegalArgumentException.class, () -> new TupleValue(TupleValue.Kind.TEXT, null, null));
    assertThrows(IllegalArgumentException.class, () -> new TupleValue(TupleValue.Kind.NULL, "x", null));
    assertThrows(IllegalArgumentException.class, () -> new Update(1, null, true, tuple()));
    assertEquals("TEXT(a)", t("a").toString());
    assertEquals("BINARY(0102)", v.toString());
  }
}
