package io.whatssound.realtime.runtime.auth;

import io.whatssound.realtime.runtime.db.ClientRole;
import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Savepoint;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Private channels authorized by the row-level security policies on {@code realtime.messages}, as on
 * Supabase: in one transaction that is always rolled back, probe rows for the topic are inserted, then,
 * as the client's role with its verified claims in {@code request.jwt.claims} and the topic in
 * {@code realtime.topic}, reading them tells the read permissions and inserting new ones tells the write
 * permissions, for broadcast and presence each. Runs on the database executor, never on an event loop.
 */
public final class DatabaseAuthorizer implements ChannelAuthorizer {
  private static final Logger LOG = LoggerFactory.getLogger(DatabaseAuthorizer.class);
  private static final String[] EXTENSIONS = {"broadcast", "presence"};

  private final DataSource db;
  private final Executor executor;

  public DatabaseAuthorizer(DataSource db, Executor executor) {
    this.db = db;
    this.executor = executor;
  }

  @Override
  public CompletableFuture<Permissions> permissions(VerifiedToken token, TopicKey key) {
    if (!key.isPrivate()) {
      return CompletableFuture.completedFuture(Permissions.ALL);
    }
    return CompletableFuture.supplyAsync(() -> check(token, key.subTopic()), executor);
  }

  private Permissions check(VerifiedToken token, String topic) {
    try (Connection c = db.getConnection()) {
      c.setAutoCommit(false);
      try {
        return check(c, token, topic);
      } finally {
        c.rollback();
        c.setAutoCommit(true);
      }
    } catch (SQLException e) {
      if (unreachable(e)) {
        LOG.warn("Authorization check for topic {} could not reach the database: {}", topic, e.getMessage());
        throw new DatabaseUnavailable(e.getMessage());
      }
      LOG.warn("Authorization check for topic {} failed ({}); denying", topic, e.getMessage());
      return Permissions.NONE;
    }
  }

  /** A connection that could not be had or was lost (class 08, or the pool's timeout), not an error of the check. */
  static boolean unreachable(SQLException e) {
    String state = e.getSQLState();
    return e instanceof SQLTransientConnectionException || (state != null && state.startsWith("08"));
  }

  private static Permissions check(Connection c, VerifiedToken token, String topic) throws SQLException {
    Set<String> probes = new HashSet<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO realtime.messages (topic, extension, private, event) VALUES (?, 'broadcast', true, "
                + "'authorization'), (?, 'presence', true, 'authorization') RETURNING id::text")) {
      ps.setString(1, topic);
      ps.setString(2, topic);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          probes.add(rs.getString(1));
        }
      }
    }
    if (!ClientRole.assume(c, token, topic)) {
      LOG.debug("Role {} cannot be assumed", token.role());
      return Permissions.NONE;
    }
    boolean readBroadcast = false;
    boolean readPresence = false;
    try (PreparedStatement ps =
        c.prepareStatement("SELECT extension FROM realtime.messages WHERE id = ANY (?::uuid[]) AND topic = ?")) {
      ps.setArray(1, c.createArrayOf("text", probes.toArray()));
      ps.setString(2, topic);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          readBroadcast |= "broadcast".equals(rs.getString(1));
          readPresence |= "presence".equals(rs.getString(1));
        }
      }
    }
    boolean[] write = new boolean[EXTENSIONS.length];
    for (int i = 0; i < EXTENSIONS.length; i++) {
      Savepoint sp = c.setSavepoint();
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO realtime.messages (topic, extension, private, event) VALUES (?, ?, true, 'authorization')")) {
        ps.setString(1, topic);
        ps.setString(2, EXTENSIONS[i]);
        ps.execute();
        write[i] = true;
      } catch (SQLException e) {
        if (!"42501".equals(e.getSQLState())) {
          throw e;
        }
      } finally {
        c.rollback(sp);
      }
    }
    return new Permissions(readBroadcast, readPresence, write[0], write[1]);
  }
}
