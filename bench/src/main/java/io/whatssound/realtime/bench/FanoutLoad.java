package io.whatssound.realtime.bench;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One channel's subscribers and its publisher, for the scenarios that fan one channel out ({@code fanout}, {@code
 * ramp}): the subscribers joined (runtime) or connected to the channel's path (nchan), and a {@link Pacer.Sender}
 * that publishes bench payloads over the runtime's WebSocket or over HTTP (the runtime's REST API or nchan's
 * publisher location).
 */
final class FanoutLoad implements AutoCloseable {
  final String name;
  final List<Conn> subscribers;
  final Pacer.Sender sender;
  final ScheduledExecutorService exec;
  private final RestPublisher rest;
  private final boolean ownExec;

  private FanoutLoad(String name, List<Conn> subscribers, Pacer.Sender sender, ScheduledExecutorService exec,
      RestPublisher rest, boolean ownExec) {
    this.name = name;
    this.subscribers = subscribers;
    this.sender = sender;
    this.exec = exec;
    this.rest = rest;
    this.ownExec = ownExec;
  }

  /**
   * Opens {@code n} subscribers of a new channel on {@code client} and a publisher on {@code publisher} (the same
   * client, or another pod's) over {@code via} ({@code ws} or {@code rest}).
   */
  static FanoutLoad open(Client client, Client publisher, String prefix, int n, int inFlight, Conn.Listener listener,
      String via, boolean binary, int size, int restConns) throws Exception {
    if (!via.equals("ws") && !via.equals("rest")) {
      throw new IllegalArgumentException("--via must be ws or rest");
    }
    if (client.raw && via.equals("ws")) {
      throw new IllegalArgumentException("--target nchan publishes over HTTP only: use --via rest");
    }
    if (binary && !client.wire.v2) {
      throw new IllegalArgumentException("--binary needs --vsn 2.0.0");
    }
    String name = prefix + "-" + System.currentTimeMillis();
    String topic = "realtime:" + name;
    System.out.printf("%s: connecting %d subscribers to %s ...%n", prefix, n,
        client.raw ? client.base + "/" + name : topic);
    List<Conn> subs;
    if (client.raw) {
      client.rawChannel(name);
      subs = client.connectMany(n, inFlight, i -> listener, c -> CompletableFuture.completedFuture(c), 0);
    } else {
      subs = client.connectMany(n, inFlight, i -> listener, c -> c.join(topic, false, false, null), 0);
    }
    String pad = Wire.pad(size);
    long[] seq = {0};
    if (via.equals("ws")) {
      Conn pub = publisher.connect(new Conn.Listener() {}, 0).get(30, TimeUnit.SECONDS);
      String joinRef = pub.join(topic, false, false, null).get(30, TimeUnit.SECONDS);
      Pacer.Sender sender = due -> {
        for (int i = 0; i < due; i++) {
          pub.write(pub.wire.broadcast(pub.channel.alloc(), joinRef, Conn.nextRef(), topic, "b", seq[0]++,
              System.nanoTime(), size, pad, binary), false);
        }
        pub.channel.flush();
        return due;
      };
      return new FanoutLoad(name, subs, sender, pub.channel.eventLoop(), null, false);
    } else {
      RestPublisher p = client.raw
          ? new RestPublisher(publisher, restConns, Client.rawPublishPath(name))
          : new RestPublisher(publisher, restConns);
      Pacer.Sender sender = due -> {
        int sent = 0;
        for (int i = 0; i < due; i++) {
          String payload = Wire.jsonPayload(seq[0], System.nanoTime(), pad);
          String body = client.raw ? payload
              : "{\"messages\":[{\"topic\":\"" + name + "\",\"event\":\"b\",\"payload\":" + payload + "}]}";
          if (!p.post(body)) {
            break;
          }
          seq[0]++;
          sent++;
        }
        return sent;
      };
      return new FanoutLoad(name, subs, sender, Executors.newSingleThreadScheduledExecutor(), p, true);
    }
  }

  /** The HTTP statuses the publisher saw ({@code 202=...}), empty over WebSocket. */
  String restStatuses() {
    return rest == null ? "" : rest.statusSummary();
  }

  @Override
  public void close() {
    if (rest != null) {
      rest.close();
    }
    if (ownExec) {
      exec.shutdownNow();
    }
    Client.closeAll(subscribers, 10_000);
  }
}
