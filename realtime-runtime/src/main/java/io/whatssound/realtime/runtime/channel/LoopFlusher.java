package io.whatssound.realtime.runtime.channel;

import io.netty.util.concurrent.EventExecutor;
import java.util.ArrayList;
import java.util.List;

/**
 * Coalesces flushes on one event loop: fan-out tasks write without flushing and mark the socket; one
 * flush task, queued behind the fan-out tasks already waiting, flushes every marked socket once. Used
 * only on its own loop.
 */
final class LoopFlusher {
  private final EventExecutor loop;
  private final List<SocketLink> dirty = new ArrayList<>();
  private boolean scheduled;

  LoopFlusher(EventExecutor loop) {
    this.loop = loop;
  }

  void mark(SocketLink link) {
    if (link.markDirty()) {
      dirty.add(link);
    }
    if (!scheduled) {
      scheduled = true;
      loop.execute(this::flushAll);
    }
  }

  private void flushAll() {
    scheduled = false;
    for (int i = 0; i < dirty.size(); i++) {
      dirty.get(i).flush();
    }
    dirty.clear();
  }
}
