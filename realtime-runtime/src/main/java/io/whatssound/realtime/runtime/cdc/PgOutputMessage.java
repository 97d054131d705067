package io.whatssound.realtime.runtime.cdc;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * One decoded message of PostgreSQL's {@code pgoutput} logical replication plugin (protocol version 2,
 * no streaming of in-progress transactions), as produced by {@link PgOutputDecoder}.
 *
 * <p>OIDs are PostgreSQL's unsigned 32-bit values kept in an {@code int}: an OID above 2^31 shows as
 * a negative number ({@link Integer#toUnsignedLong(int)} gives it back). LSNs are {@code long}s.
 */
public sealed interface PgOutputMessage {

  /** Start of a transaction ('B'). */
  record Begin(long finalLsn, Instant commitTime, long xid) implements PgOutputMessage {
    public Begin {
      Objects.requireNonNull(commitTime, "commitTime");
    }
  }

  /** End of a transaction ('C'). */
  record Commit(long commitLsn, long endLsn, Instant commitTime) implements PgOutputMessage {
    public Commit {
      Objects.requireNonNull(commitTime, "commitTime");
    }
  }

  /** The transaction came from another node ('O'); {@code lsn} is the commit LSN on that origin. */
  record Origin(long lsn, String name) implements PgOutputMessage {
    public Origin {
      Objects.requireNonNull(name, "name");
    }
  }

  /**
   * A table's shape ('R'), sent before the first change of that table in a session and again after it
   * changes. {@code schema} is empty for {@code pg_catalog}. {@code replicaIdentity} is 'd' (default,
   * primary key), 'n' (nothing), 'f' (full) or 'i' (index).
   */
  record Relation(int oid, String schema, String table, char replicaIdentity, List<Column> columns)
      implements PgOutputMessage {
    public Relation {
      Objects.requireNonNull(schema, "schema");
      Objects.requireNonNull(table, "table");
      columns = List.copyOf(columns);
    }
  }

  /** One column of a {@link Relation}; {@code key} when it is part of the replica identity. */
  record Column(String name, int typeOid, int typeModifier, boolean key) {
    public Column {
      Objects.requireNonNull(name, "name");
    }
  }

  /** A non-built-in data type used by a following {@link Relation} ('Y'). */
  record Type(int oid, String schema, String name) implements PgOutputMessage {
    public Type {
      Objects.requireNonNull(schema, "schema");
      Objects.requireNonNull(name, "name");
    }
  }

  /** A new row ('I') of the relation with OID {@code relation}. */
  record Insert(int relation, Tuple newTuple) implements PgOutputMessage {
    public Insert {
      Objects.requireNonNull(newTuple, "newTuple");
    }
  }

  /**
   * A changed row ('U'). {@code oldTuple} is null when the server sent no old values (the replica
   * identity did not change and is not FULL); otherwise it holds the old key columns only
   * ({@code oldIsKeyOnly}, 'K', the other columns null) or the whole old row ('O').
   */
  record Update(int relation, Tuple oldTuple, boolean oldIsKeyOnly, Tuple newTuple)
      implements PgOutputMessage {
    public Update {
      Objects.requireNonNull(newTuple, "newTuple");
      if (oldTuple == null && oldIsKeyOnly) {
        throw new IllegalArgumentException("oldIsKeyOnly needs an oldTuple");
      }
    }
  }

  /** A deleted row ('D'): its key columns ({@code keyOnly}, 'K') or the whole old row ('O'). */
  record Delete(int relation, Tuple oldTuple, boolean keyOnly) implements PgOutputMessage {
    public Delete {
      Objects.requireNonNull(oldTuple, "oldTuple");
    }
  }

  /** {@code TRUNCATE} of one or more relations ('T'). */
  record Truncate(List<Integer> relations, boolean cascade, boolean restartIdentity)
      implements PgOutputMessage {
    public Truncate {
      relations = List.copyOf(relations);
    }
  }

  /** A message written with {@code pg_logical_emit_message} ('M'). */
  record LogicalMessage(boolean transactional, long lsn, String prefix, byte[] content)
      implements PgOutputMessage {
    public LogicalMessage {
      Objects.requireNonNull(prefix, "prefix");
      content = content.clone();
    }

    @Override
    public byte[] content() {
      return content.clone();
    }

    /** The content read as UTF-8 text. */
    public String contentText() {
      return new String(content, StandardCharsets.UTF_8);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof LogicalMessage m
          && m.transactional == transactional
          && m.lsn == lsn
          && m.prefix.equals(prefix)
          && Arrays.equals(m.content, content);
    }

    @Override
    public int hashCode() {
      return Objects.hash(transactional, lsn, prefix, Arrays.hashCode(content));
    }

    @Override
    public String toString() {
      return "LogicalMessage[transactional=" + transactional + ", lsn=" + lsn + ", prefix=" + prefix
          + ", content=" + content.length + " bytes]";
    }
  }

  /** The column values of one row, in the column order of its {@link Relation}. */
  record Tuple(List<TupleValue> values) {
    public Tuple {
      values = List.copyOf(values);
    }

    public int size() {
      return values.size();
    }

    public TupleValue get(int column) {
      return values.get(column);
    }
  }

  /**
   * One column value of a {@link Tuple}: SQL NULL, an unchanged TOASTed value that the server did not
   * send, a value in text format (decoded as UTF-8), or a value in binary format.
   */
  record TupleValue(Kind kind, String text, byte[] binary) {
    public static final TupleValue NULL = new TupleValue(Kind.NULL, null, null);
    public static final TupleValue UNCHANGED_TOAST = new TupleValue(Kind.UNCHANGED_TOAST, null, null);

    /** How a value was sent. */
    public enum Kind {
      NULL,
      UNCHANGED_TOAST,
      TEXT,
      BINARY
    }

    public TupleValue {
      Objects.requireNonNull(kind, "kind");
      if ((kind == Kind.TEXT) != (text != null)) {
        throw new IllegalArgumentException(
            "a " + kind + " value " + (kind == Kind.TEXT ? "needs" : "has no") + " text");
      }
      if ((kind == Kind.BINARY) != (binary != null)) {
        throw new IllegalArgumentException(
            "a " + kind + " value " + (kind == Kind.BINARY ? "needs" : "has no") + " bytes");
      }
      binary = binary == null ? null : binary.clone();
    }

    public static TupleValue text(String text) {
      return new TupleValue(Kind.TEXT, Objects.requireNonNull(text, "text"), null);
    }

    public static TupleValue binary(byte[] bytes) {
      return new TupleValue(Kind.BINARY, null, Objects.requireNonNull(bytes, "bytes"));
    }

    @Override
    public byte[] binary() {
      return binary == null ? null : binary.clone();
    }

    public boolean isNull() {
      return kind == Kind.NULL;
    }

    public boolean isUnchangedToast() {
      return kind == Kind.UNCHANGED_TOAST;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof TupleValue v
          && v.kind == kind
          && Objects.equals(v.text, text)
          && Arrays.equals(v.binary, binary);
    }

    @Override
    public int hashCode() {
      return Objects.hash(kind, text, Arrays.hashCode(binary));
    }

    @Override
    public String toString() {
      return switch (kind) {
        case NULL -> "NULL";
        case UNCHANGED_TOAST -> "UNCHANGED_TOAST";
        case TEXT -> "TEXT(" + text + ")";
        case BINARY -> "BINARY(" + HexFormat.of().formatHex(binary) + ")";
      };
    }
  }
}
