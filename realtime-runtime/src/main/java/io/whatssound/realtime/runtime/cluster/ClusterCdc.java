package io.whatssound.realtime.runtime.cluster;

import io.whatssound.realtime.runtime.cdc.PgOutputMessage;
import io.whatssound.realtime.runtime.cdc.ReplicationStream;

/**
 * Sits between this pod's replication stream and its {@link io.whatssound.realtime.runtime.cdc.PostgresChanges}:
 * numbers each change by (commit LSN, position in the transaction) so pods recognise repeats after a
 * failover, and tells the cluster whether this pod holds the slot. Postgres Changes count as live on
 * every pod while some pod streams the slot.
 */
final class ClusterCdc implements ReplicationStream.Sink {
  private final ReplicationStream.Sink target;
  private final ClusterNode node;
  private long lsn;
  private int index;
  private volatile boolean holding;
  private boolean effective;

  ClusterCdc(ReplicationStream.Sink target, ClusterNode node) {
    this.target = target;
    this.node = node;
  }

  @Override
  public void live(boolean isLive) {
    boolean changed = holding != isLive;
    holding = isLive;
    if (changed) {
      node.slotStatusChanged();
    }
    update(node.anotherPodHoldsSlot());
  }

  @Override
  public void message(PgOutputMessage m) {
    if (m instanceof PgOutputMessage.Begin b) {
      lsn = b.finalLsn();
      index = 0;
    }
    target.message(m);
  }

  /** The identity of the next change of the current transaction; called on the stream thread. */
  long[] nextPosition() {
    return new long[] {lsn, index++};
  }

  boolean holding() {
    return holding;
  }

  /** Recomputes whether changes flow (here or from another pod) and tells Postgres Changes when that flips. */
  synchronized void update(boolean elsewhere) {
    boolean now = holding || elsewhere;
    if (now != effective) {
      effective = now;
      target.live(now);
    }
  }
}
