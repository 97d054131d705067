package io.whatssound.realtime.runtime.db;

import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * Acting as a client inside a transaction, as Supabase's policies expect: its JWT role
 * ({@code SET LOCAL ROLE}), its verified claims ({@code request.jwt.claims}, {@code request.jwt.claim.sub},
 * {@code request.jwt.claim.role}) and, for channel checks, the topic ({@code realtime.topic}).
 */
public final class ClientRole {
  private ClientRole() {}

  /**
   * One statement that switches to the token's role and sets its claims (and the topic) for the rest of
   * the current transaction; bind its parameters with {@link #bind}. Prepending it to a query in the
   * same execution saves the round trips of separate statements.
   */
  public static final String SETTINGS =
      "SELECT set_config('role', ?, true), set_config('request.jwt.claims', ?, true), "
          + "set_config('request.jwt.claim.sub', ?, true), set_config('request.jwt.claim.role', ?, true), "
          + "set_config('realtime.topic', ?, true)";

  /** Binds {@link #SETTINGS}'s parameters from {@code first} on; returns the next free index. */
  public static int bind(PreparedStatement ps, int first, VerifiedToken token, String topic) throws SQLException {
    ps.setString(first, token.role());
    ps.setString(first + 1, Json.bytesAsString(token.claims()));
    Object sub = token.claims().get("sub");
    ps.setString(first + 2, sub == null ? "" : sub.toString());
    ps.setString(first + 3, token.role());
    ps.setString(first + 4, topic == null ? "" : topic);
    return first + 5;
  }

  /**
   * Whether an error raised while assuming a role means the role cannot be assumed: it does not exist
   * (invalid parameter value) or the runtime's role is not a member of it (insufficient privilege).
   */
  public static boolean roleRefused(SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    return state.equals("22023") || state.equals("42501") || state.equals("42704");
  }

  /**
   * Assumes the token's role and claims for the rest of the transaction, in one round trip. Returns
   * false when the role cannot be assumed.
   */
  public static boolean assume(Connection c, VerifiedToken token, String topic) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(SETTINGS)) {
      bind(ps, 1, token, topic);
      ps.execute();
    } catch (SQLException e) {
      if (roleRefused(e)) {
        return false;
      }
      throw e;
    }
    return true;
  }

  /** A double-quoted SQL identifier. */
  public static String ident(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }
}
