package io.whatssound.realtime.runtime.db;

import io.whatssound.realtime.runtime.auth.VerifiedToken;
import io.whatssound.realtime.runtime.protocol.Json;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Acting as a client inside a transaction, as Supabase's policies expect: its JWT role
 * ({@code SET LOCAL ROLE}), its verified claims ({@code request.jwt.claims}, {@code request.jwt.claim.sub},
 * {@code request.jwt.claim.role}) and, for channel checks, the topic ({@code realtime.topic}).
 */
public final class ClientRole {
  private ClientRole() {}

  /**
   * Assumes the token's role and claims for the rest of the transaction. Returns false when the
   * role cannot be assumed (it does not exist or the runtime's role is not a member of it).
   */
  public static boolean assume(Connection c, VerifiedToken token, String topic) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("SET LOCAL ROLE " + ident(token.role()));
    } catch (SQLException e) {
      String state = e.getSQLState() == null ? "" : e.getSQLState();
      if (state.startsWith("42") || state.startsWith("22")) {
        return false;
      }
      throw e;
    }
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT set_config('request.jwt.claims', ?, true), set_config('request.jwt.claim.sub', ?, true), "
                + "set_config('request.jwt.claim.role', ?, true), set_config('realtime.topic', ?, true)")) {
      ps.setString(1, Json.bytesAsString(token.claims()));
      Object sub = token.claims().get("sub");
      ps.setString(2, sub == null ? "" : sub.toString());
      ps.setString(3, token.role());
      ps.setString(4, topic == null ? "" : topic);
      ps.execute();
    }
    return true;
  }

  /** A double-quoted SQL identifier. */
  public static String ident(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }
}
