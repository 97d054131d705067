package io.whatssound.realtime.runtime.cdc;

import io.netty.buffer.ByteBufAllocator;
import io.whatssound.realtime.runtime.channel.Broadcaster;
import io.whatssound.realtime.runtime.channel.Subscription;
import io.whatssound.realtime.runtime.channel.TopicRegistry;
import io.whatssound.realtime.runtime.db.RuntimeDatabase;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Postgres Changes and database broadcasts for one tenant, as the rest of the runtime sees them. The work is
 * done by one class each: {@link BindingValidator} checks a join's bindings against the publication,
 * {@link ChangeRouter} sends row changes to matching bindings, {@link SlotReader} turns the slot's pgoutput into
 * changes, and {@link StoredBroadcasts} sends the rows of {@code realtime.messages} as broadcasts.
 */
public final class PostgresChanges implements ReplicationStream.Sink {
  public static final String SUBSCRIBED = "Subscribed to PostgreSQL";

  private final RuntimeDatabase db;
  private final BindingValidator validator;
  private final ChangeRouter router;
  private final StoredBroadcasts stored;
  private final SlotReader reader;
  private volatile CompletableFuture<Void> live = new CompletableFuture<>();

  public PostgresChanges(RuntimeDatabase db, TopicRegistry topics, Broadcaster broadcaster, ByteBufAllocator alloc) {
    this.db = db;
    this.validator = new BindingValidator(db);
    this.router = new ChangeRouter(topics, alloc, Optional.of(new RowSecurity(db.queries(), Clock.systemUTC())));
    this.stored = new StoredBroadcasts(broadcaster, alloc);
    this.reader = new SlotReader(db, router, broadcaster, stored);
  }

  // ---- subscriptions

  /**
   * Validates the bindings against the published tables (off the event loop) and starts routing
   * changes to them. Completes with empty once live, or with the error to report to the client.
   */
  public CompletableFuture<Optional<String>> subscribe(Subscription sub, List<ChangeRequest> requests, boolean legacy) {
    return CompletableFuture.supplyAsync(() -> validator.validate(sub, requests, legacy), db.executor())
        .thenCompose(
            result -> {
              if (result.error().isPresent()) {
                return CompletableFuture.completedFuture(result.error());
              }
              router.add(result.bindings());
              return live.thenApply(v -> Optional.<String>empty());
            });
  }

  public void unsubscribe(Subscription sub) {
    router.remove(sub);
  }

  /** The subscription now acts with another token: row security must group it anew. */
  public void tokenChanged(Subscription sub) {
    router.invalidate();
  }

  /** A change another pod read from the slot: route it to this pod's bindings. */
  public void routeRelayed(ChangeRecord change) {
    router.route(change);
  }

  // ---- the stream

  /** Completes once the replication stream is live (at once when it is); a later outage starts a new wait. */
  public CompletableFuture<Void> whenLive() {
    return live;
  }

  @Override
  public void live(boolean isLive) {
    if (isLive) {
      live.complete(null);
    } else if (live.isDone()) {
      live = new CompletableFuture<>();
    }
  }

  @Override
  public void message(PgOutputMessage m) {
    reader.message(m);
  }
}
