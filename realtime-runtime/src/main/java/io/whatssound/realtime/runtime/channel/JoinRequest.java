package io.whatssound.realtime.runtime.channel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A {@code phx_join} payload, read leniently as the clients send it (booleans may be the strings
 * "true"/"false"; no {@code config} at all is the legacy form).
 *
 * @param self             receive one's own broadcasts
 * @param ack              acknowledge each broadcast
 * @param presenceKey      the presence key, empty for a generated one
 * @param presenceEnabled  receive presence state and diffs
 * @param isPrivate        a private channel
 * @param postgresChanges  the requested Postgres Changes bindings, in request order
 * @param accessToken      a JWT for this channel instead of the socket's
 * @param replayAsked      {@code config.broadcast.replay} is there at all (even null): refused on a public channel
 * @param replay           stored broadcasts to send after the join; empty when not asked or when its parameters are
 *                         not valid
 * @param replicationReady {@code config.broadcast.replication_ready}: say when the database's stream is live
 * @param legacy           no {@code config}: the sub-topic names a Postgres Changes subscription
 */
public record JoinRequest(
    boolean self,
    boolean ack,
    String presenceKey,
    boolean presenceEnabled,
    boolean isPrivate,
    List<ObjectNode> postgresChanges,
    Optional<String> accessToken,
    boolean replayAsked,
    Optional<Replay> replay,
    boolean replicationReady,
    boolean legacy) {

  /**
   * {@code config.broadcast.replay}: messages since an epoch-millisecond time.
   *
   * @param sinceMillis the oldest {@code inserted_at} wanted
   * @param requested   the {@code limit} asked for, or 0 when absent
   */
  public record Replay(long sinceMillis, long requested) {
    /** At most this many messages replay on a topic without history, as in Supabase. */
    public static final int MAX = 25;

    /** {@code {since: integer, limit: integer?}}; anything else is not valid. */
    static Optional<Replay> parse(JsonNode replay) {
      JsonNode since = replay.path("since");
      JsonNode limit = replay.path("limit");
      if (!since.isIntegralNumber() || !(limit.isMissingNode() || limit.isNull() || limit.isIntegralNumber())) {
        return Optional.empty();
      }
      return Optional.of(new Replay(since.asLong(), limit.isIntegralNumber() ? Math.max(1, limit.asLong()) : 0));
    }

    /** The limit clamped to 1..{@code max}; {@code max} when none was asked. */
    public int limit(int max) {
      return requested == 0 ? max : (int) Math.min(max, requested);
    }

    /** Supabase's limit: 25 when absent, clamped to 1..25. */
    public int limit() {
      return limit(MAX);
    }
  }

  public static JoinRequest parse(ObjectNode payload) {
    JsonNode config = payload.path("config");
    JsonNode broadcast = config.path("broadcast");
    JsonNode presence = config.path("presence");
    List<ObjectNode> bindings = new ArrayList<>();
    if (config.path("postgres_changes") instanceof ArrayNode arr) {
      for (JsonNode b : arr) {
        if (b instanceof ObjectNode o) {
          bindings.add(o);
        }
      }
    }
    JsonNode key = presence.path("key");
    JsonNode token = payload.path("access_token");
    JsonNode replay = broadcast.path("replay");
    return new JoinRequest(
        bool(broadcast.path("self"), false),
        bool(broadcast.path("ack"), false),
        key.isTextual() ? key.textValue() : key.isNumber() ? key.asText() : "",
        bool(presence.path("enabled"), true),
        bool(config.path("private"), false),
        List.copyOf(bindings),
        token.isTextual() && !token.textValue().isBlank() && !isApiKey(token.textValue())
            ? Optional.of(token.textValue()) : Optional.empty(),
        broadcast.has("replay"),
        replay.isObject() ? Replay.parse(replay) : Optional.empty(),
        bool(broadcast.path("replication_ready"), false),
        !payload.has("config"));
  }

  /**
   * A Supabase API key ({@code sb_publishable_...}, {@code sb_secret_...}) rather than a user's JWT: supabase-js
   * sends the publishable key as the access token when no user is signed in. It means "the socket's token".
   */
  public static boolean isApiKey(String token) {
    return token.startsWith("sb_");
  }

  static boolean bool(JsonNode n, boolean fallback) {
    if (n.isBoolean()) {
      return n.booleanValue();
    }
    if (n.isTextual()) {
      String s = n.textValue().trim();
      if (s.equalsIgnoreCase("true")) {
        return true;
      }
      if (s.equalsIgnoreCase("false")) {
        return false;
      }
    }
    return fallback;
  }
}
