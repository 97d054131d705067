package io.whatssound.realtime.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.ScheduledFuture;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer.DatabaseUnavailable;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer.Permissions;
import io.whatssound.realtime.runtime.auth.TokenRejected;
import io.whatssound.realtime.runtime.cdc.ChangeRequest;
import io.whatssound.realtime.runtime.cdc.PostgresChanges;
import io.whatssound.realtime.runtime.channel.JoinRequest;
import io.whatssound.realtime.runtime.channel.SocketLink;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.history.History;
import io.whatssound.realtime.runtime.history.Kept;
import io.whatssound.realtime.runtime.presence.PresenceState;
import io.whatssound.realtime.runtime.protocol.InboundMessage;
import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One socket's joins, from {@code phx_join} to a live subscription: the topic, the tenant's and the socket's limits,
 * the token, the permissions (asked of the database for private channels, so possibly later), then the reply, the
 * presence state, the Postgres Changes bindings, the latest values and a replay. A refusal is answered after the configured delay. Runs on
 * the socket's event loop; the {@link SocketSession} keeps the subscriptions.
 */
final class JoinFlow {
  private static final Logger LOG = LoggerFactory.getLogger(JoinFlow.class);
  static final Duration REPLICATION_READY_TIMEOUT = Duration.ofMinutes(1);
  /** After a replay, how long live duplicates of what it sent are still looked for. */
  static final Duration REPLAYED_MEMORY = Duration.ofMinutes(1);

  private final RuntimeContext rt;
  private final SocketSession session;
  private final AccessTokens tokens;
  private final SocketOutput out;
  private final SocketLink link;
  private final ChannelHandlerContext ctx;
  private final VerifiedToken socketToken;
  /** Joins waiting on the database for their permissions, by topic. */
  private final Map<String, InboundMessage> pending = new HashMap<>();
  private boolean draining;

  JoinFlow(RuntimeContext rt, SocketSession session, AccessTokens tokens, SocketOutput out, SocketLink link,
      ChannelHandlerContext ctx, VerifiedToken socketToken) {
    this.rt = rt;
    this.session = session;
    this.tokens = tokens;
    this.out = out;
    this.link = link;
    this.ctx = ctx;
    this.socketToken = socketToken;
  }

  /** From now on every join is refused: the pod drains (its socket will be closed soon). */
  void refuseAll() {
    draining = true;
  }

  /** A {@code phx_join} on {@code m.topic()}. */
  void join(InboundMessage m) {
    String topic = m.topic();
    if (!topic.startsWith(TopicKey.PREFIX)) {
      out.reply(m, "error", SocketOutput.reason("unmatched topic"));
      return;
    }
    String name = topic.substring(TopicKey.PREFIX.length());
    if (name.isEmpty()) {
      refuseJoin(m, "TopicNameRequired", "You must provide a topic name");
      return;
    }
    if (draining) {
      refuseJoin(m, "ServerShuttingDown", "this server is shutting down; join again after reconnecting");
      return;
    }
    pending.remove(topic); // a newer join supersedes one still waiting
    JoinRequest req = JoinRequest.parse(m.payload());
    Subscription existing = session.channels().get(topic);
    if (existing != null) {
      session.stop(existing);
      out.push(existing, "phx_close", existing.joinRef(), SocketOutput.EMPTY);
    }
    if (rt.limiter().overUserLimit()) {
      refuseJoin(m, "ConnectionRateLimitReached", "Too many connected users");
      return;
    }
    if (!rt.limiter().tryJoin()) {
      refuseJoin(m, "ClientJoinRateLimitReached", "Too many joins per second");
      return;
    }
    if (session.channels().size() >= rt.config().limits().maxChannelsPerClient()) {
      refuseJoin(m, "ChannelRateLimitReached", "Too many channels");
      return;
    }
    VerifiedToken token = socketToken;
    if (req.accessToken().isPresent()) {
      try {
        token = rt.verifier().verify(req.accessToken().get());
      } catch (TokenRejected e) {
        refuseJoin(m, e.joinCode(), tokens.rejectionText(e, req.accessToken().get()));
        return;
      }
    } else if (!token.expiresAt().isAfter(rt.clock().instant())) {
      refuseJoin(m, "InvalidJWTToken", rt.verifier().expiredAgo(token.expiresAt()));
      return;
    }
    TopicKey key = new TopicKey(topic, req.isPrivate());
    if (!key.isPrivate() && rt.config().privateOnly()) {
      refuseJoin(m, "PrivateOnly", "This project only allows private channels");
      return;
    }
    VerifiedToken verified = token;
    CompletableFuture<Permissions> decision = rt.authorizer().permissions(token, key);
    if (decision.isDone() && !decision.isCompletedExceptionally()) {
      admit(m, req, verified, key, name, decision.join());
    } else {
      // until the database answers, a leave or a newer join of this topic makes this join moot
      pending.put(topic, m);
      decision.whenComplete(
          (p, failure) -> ctx.executor().execute(() -> {
            if (!pending.remove(topic, m)) {
              return;
            }
            if (failure == null) {
              admit(m, req, verified, key, name, p);
            } else if (failure.getCause() instanceof DatabaseUnavailable || failure instanceof DatabaseUnavailable) {
              refuseJoin(m, "UnableToConnectToProject", "Realtime was unable to connect to the project database");
            } else {
              LOG.warn("Authorizing a join on {} failed", topic, failure);
              admit(m, req, verified, key, name, Permissions.NONE);
            }
          }));
    }
  }

  /**
   * A leave of a topic whose join still waits on the database: that join is dropped, so that the subscription the
   * client has already given up does not start. Returns whether there was one.
   */
  boolean cancelPending(String topic) {
    return pending.remove(topic) != null;
  }

  /** Completes a join once its permissions are known. */
  private void admit(InboundMessage m, JoinRequest req, VerifiedToken token, TopicKey key, String name, Permissions perms) {
    if (!ctx.channel().isActive()) {
      return;
    }
    if (!perms.canRead()) {
      refuseJoin(m, "Unauthorized", "You do not have permissions to read from this Channel topic: " + name);
      return;
    }
    boolean kept = rt.broadcaster().history().keeps(key);
    if (req.replayAsked() && !key.isPrivate() && !kept) {
      refuseJoin(m, "UnableToReplayMessages", "Replay is not allowed for public channels");
      return;
    }
    if (req.replayAsked() && req.replay().isEmpty()) {
      refuseJoin(m, "UnableToReplayMessages", "Replay params are not valid");
      return;
    }
    String topic = key.topic();
    Subscription existing = session.channels().get(topic);
    if (existing != null) {
      session.stop(existing);
      out.push(existing, "phx_close", existing.joinRef(), SocketOutput.EMPTY);
    }
    String presenceKey = req.presenceKey().isEmpty() ? UUID.randomUUID().toString() : req.presenceKey();
    Subscription sub =
        new Subscription(
            rt.ids().next(), link, key, m.joinRef(), req.self(), req.ack(), presenceKey, req.presenceEnabled(), token);
    sub.permissions(perms);
    session.channels().put(topic, sub);
    PresenceState presence = rt.broadcaster().join(sub);
    sub.token(token, tokens.scheduleExpiry(sub, token));
    rt.metrics().join("ok");
    List<ObjectNode> bindings = req.postgresChanges();
    out.reply(
        m,
        "ok",
        g -> {
          g.writeStartObject();
          g.writeArrayFieldStart("postgres_changes");
          for (int i = 0; i < bindings.size(); i++) {
            ObjectNode b = bindings.get(i);
            g.writeStartObject();
            g.writeNumberField("id", i + 1);
            for (String f : List.of("event", "schema", "table", "filter")) {
              JsonNode v = b.get(f);
              if (v != null && v.isTextual()) {
                g.writeStringField(f, v.textValue());
              }
            }
            g.writeEndObject();
          }
          g.writeEndArray();
          g.writeEndObject();
        });
    if (sub.presenceEnabled() && perms.readPresence()) {
      out.push(sub, "presence_state", null, presence::writeState);
    }
    postgresChanges(sub, req, name);
    catchUp(sub, req.replay(), kept);
    if (req.replicationReady()) {
      replicationReady(sub);
    }
  }

  /**
   * {@code replication_ready}: a system message once the database's stream is live, or the channel closes when it
   * is not within {@link #REPLICATION_READY_TIMEOUT}, as in Supabase (without a database it never is).
   */
  private void replicationReady(Subscription sub) {
    CompletableFuture<Void> live = rt.postgres().map(PostgresChanges::whenLive).orElseGet(CompletableFuture::new);
    ScheduledFuture<?> deadline = ctx.executor().schedule(() -> {
      if (session.holds(sub) && !live.isDone()) {
        session.close(sub, "Replication connection was not established in time");
      }
    }, REPLICATION_READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    live.thenRun(() -> ctx.executor().execute(() -> {
      deadline.cancel(false);
      if (session.holds(sub)) {
        out.system(sub, "system", "ok", "Replication connection established");
      }
    }));
  }

  /** Starts the channel's Postgres Changes bindings; reports on the channel once live or failed. */
  private void postgresChanges(Subscription sub, JoinRequest req, String name) {
    List<ChangeRequest> requests = new ArrayList<>();
    if (req.legacy() && rt.postgres().isPresent()) {
      requests.add(ChangeRequest.legacy(name));
    } else {
      req.postgresChanges().forEach(b -> requests.add(ChangeRequest.of(b)));
    }
    if (requests.isEmpty()) {
      return;
    }
    if (rt.postgres().isEmpty()) {
      out.system(sub, "postgres_changes", "error",
          "Postgres Changes are not available: this runtime has no database configured");
      return;
    }
    rt.postgres().get().subscribe(sub, requests, req.legacy()).whenComplete(
        (error, failure) -> ctx.executor().execute(() -> {
          if (!session.holds(sub)) {
            return;
          }
          if (failure != null) {
            LOG.warn("Postgres Changes subscription on {} failed", sub.topicName(), failure);
            out.system(sub, "postgres_changes", "error", "Unable to subscribe to changes: " + failure.getMessage());
          } else if (error.isPresent()) {
            out.system(sub, "postgres_changes", "error", error.get());
          } else {
            out.system(sub, "postgres_changes", "ok", PostgresChanges.SUBSCRIBED);
          }
        }));
  }

  /** The latest values and the replay of one join, once both are read. */
  private record CatchUp(List<Kept> latest, History.Replay replay) {}

  /**
   * What a joiner gets before the live stream: the topic's latest values, then the replay it asked for (on a history
   * topic followed by the summary). Live messages that arrive meanwhile go out at once; each message is sent once.
   */
  private void catchUp(Subscription sub, Optional<JoinRequest.Replay> replay, boolean kept) {
    History history = rt.broadcaster().history();
    boolean latest = !history.settings().latestEvents().isEmpty();
    if (!latest && replay.isEmpty() || !sub.permissions().readBroadcast()) {
      return;
    }
    long floor = replay.map(r -> Math.multiplyExact(r.sinceMillis(), 1000L)).orElse(Long.MIN_VALUE);
    sub.trackStoredMessages(floor);
    CompletableFuture<List<Kept>> values =
        latest ? history.latest(sub.key()) : CompletableFuture.completedFuture(List.of());
    CompletableFuture<History.Replay> replayed;
    int limit = replay.map(r -> kept ? r.limit(history.settings().replayMax()) : r.limit()).orElse(0);
    if (replay.isEmpty()) {
      replayed = CompletableFuture.completedFuture(new History.Replay(List.of(), true));
    } else if (kept) {
      JoinRequest.Replay r = replay.get();
      replayed = history.replay(sub.key(), r.sinceMillis(), limit);
    } else {
      JoinRequest.Replay r = replay.get();
      replayed = history.stored(sub.key(), r.sinceMillis(), limit).thenApply(l -> new History.Replay(l, true));
    }
    values.thenCombine(replayed, CatchUp::new).whenComplete((both, failure) -> ctx.executor().execute(
        () -> {
          if (!session.holds(sub)) {
            return;
          }
          if (failure != null) {
            LOG.warn("Replay on {} failed: {}", sub.topicName(), failure.toString());
            sub.replayDone(List.of(), floor);
            return;
          }
          List<Kept> latestValues = both.latest();
          History.Replay r = both.replay();
          List<String> sent = new ArrayList<>();
          for (Kept k : latestValues) {
            if (k.id() == null || sub.firstDelivery(k.id())) {
              out.broadcast(sub, k.replayed(true));
            }
            if (k.id() != null) {
              sent.add(k.id());
            }
          }
          int n = 0;
          for (Kept k : r.messages()) {
            if (sub.firstDelivery(k.id())) {
              out.broadcast(sub, k.replayed(false));
              n++;
            }
            sent.add(k.id());
          }
          // when the limit cut older messages off, those are not sent live either
          List<Kept> m = r.messages();
          sub.replayDone(sent, m.size() >= limit && !m.isEmpty() ? Math.max(floor, m.get(0).at()) : floor);
          ctx.executor().schedule(sub::forgetReplayed, REPLAYED_MEMORY.toMillis(), TimeUnit.MILLISECONDS);
          if (replay.isPresent() && kept) {
            out.replaySummary(sub, n, r.complete());
          }
        }));
  }

  private void refuseJoin(InboundMessage m, String code, String message) {
    rt.metrics().join(code);
    rt.metrics().rejected(code);
    Duration delay = rt.config().joinErrorDelay();
    Runnable send = () -> out.reply(m, "error", SocketOutput.reason(code + ": " + message));
    if (delay.isZero()) {
      send.run();
    } else {
      ctx.executor().schedule(send, delay.toMillis(), TimeUnit.MILLISECONDS);
    }
  }
}
