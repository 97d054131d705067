package io.whatssound.realtime.runtime.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.whatssound.realtime.runtime.protocol.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/** A vsn 2.0.0 test client on the JDK's WebSocket, collecting every message it receives. */
final class WsClient implements AutoCloseable {
  final List<JsonNode> received = new CopyOnWriteArrayList<>();
  private final WebSocket ws;
  private final StringBuilder partial = new StringBuilder();

  WsClient(int port, String apikey) {
    this.ws =
        HttpClient.newHttpClient()
            .newWebSocketBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .buildAsync(URI.create("ws://127.0.0.1:" + port + "/socket/websocket?vsn=2.0.0&apikey=" + apikey),
                new WebSocket.Listener() {
                  @Override
                  public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                    partial.append(data);
                    if (last) {
                      try {
                        received.add(Json.MAPPER.readTree(partial.toString()));
                      } catch (Exception e) {
                        throw new IllegalStateException(e);
                      }
                      partial.setLength(0);
                    }
                    w.request(1);
                    return null;
                  }
                })
            .join();
  }

  void send(String text) {
    ws.sendText(text, true).join();
  }

  /** Waits until a received message satisfies {@code p}. */
  JsonNode await(Predicate<JsonNode> p, Duration timeout, String what) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (JsonNode n : received) {
        if (p.test(n)) {
          return n;
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError("timed out waiting for " + what + "; received " + received);
  }

  static Predicate<JsonNode> event(String event) {
    return n -> n.get(3).asText().equals(event);
  }

  @Override
  public void close() {
    ws.abort();
  }
}
