package io.whatssound.realtime.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.whatssound.realtime.runtime.protocol.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The runtime's one WebSocket test client (vsn 2.0.0, on the JDK's WebSocket): collects every message it receives,
 * keeps the presence state as supabase-js does (presence_state replaces, presence_diff adds and removes metas by
 * phx_ref), and speaks the pushes the tests need. Tests against the real supabase-js live in {@code src/test/js}.
 */
public final class TestSocket implements AutoCloseable {
  public final List<JsonNode> received = new CopyOnWriteArrayList<>();
  private final Map<String, Set<String>> presence = new HashMap<>();
  private final WebSocket ws;
  private final StringBuilder partial = new StringBuilder();
  private int ref;

  /** Connects to {@code /socket/websocket} of the runtime on 127.0.0.1:{@code port} with {@code apikey}. */
  public TestSocket(int port, String apikey) {
    this("127.0.0.1", port, apikey);
  }

  /** Connects to {@code /socket/websocket} of the runtime on {@code host}:{@code port} with {@code apikey}. */
  public TestSocket(String host, int port, String apikey) {
    this.ws =
        HttpClient.newHttpClient()
            .newWebSocketBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .buildAsync(URI.create("ws://" + host + ":" + port + "/socket/websocket?vsn=2.0.0&apikey=" + apikey),
                new WebSocket.Listener() {
                  @Override
                  public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                    partial.append(data);
                    if (last) {
                      try {
                        JsonNode n = Json.MAPPER.readTree(partial.toString());
                        applyPresence(n);
                        received.add(n);
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

  /** A token of {@code role} signed with {@code secret} (HS256), valid for an hour. */
  public static String token(String secret, String role) {
    try {
      SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256),
          new JWTClaimsSet.Builder().claim("role", role)
              .expirationTime(Date.from(Instant.now().plusSeconds(3600))).build());
      jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** Messages whose event (the fourth element) is {@code event}. */
  public static Predicate<JsonNode> event(String event) {
    return n -> n.get(3).asText().equals(event);
  }

  private synchronized void applyPresence(JsonNode n) {
    String event = n.get(3).asText();
    JsonNode p = n.get(4);
    if (event.equals("presence_state")) {
      presence.clear();
      p.fields().forEachRemaining(e -> e.getValue().path("metas").forEach(
          m -> presence.computeIfAbsent(e.getKey(), k -> new HashSet<>()).add(m.path("phx_ref").asText())));
    } else if (event.equals("presence_diff")) {
      p.path("joins").fields().forEachRemaining(e -> e.getValue().path("metas").forEach(
          m -> presence.computeIfAbsent(e.getKey(), k -> new HashSet<>()).add(m.path("phx_ref").asText())));
      p.path("leaves").fields().forEachRemaining(e -> e.getValue().path("metas").forEach(m -> {
        Set<String> refs = presence.get(e.getKey());
        if (refs != null) {
          refs.remove(m.path("phx_ref").asText());
          if (refs.isEmpty()) {
            presence.remove(e.getKey());
          }
        }
      }));
    }
  }

  /** The presence keys this client currently sees. */
  public synchronized Set<String> presenceKeys() {
    return new TreeSet<>(presence.keySet());
  }

  public void send(String text) {
    ws.sendText(text, true).join();
  }

  public String nextRef() {
    return Integer.toString(++ref);
  }

  /** Joins {@code realtime:<room>} and waits for the reply. */
  public void join(String room, String presenceKey, boolean self, boolean ack) throws InterruptedException {
    String r = nextRef();
    send("[\"" + r + "\",\"" + r + "\",\"realtime:" + room + "\",\"phx_join\",{\"config\":{\"broadcast\":{\"self\":"
        + self + ",\"ack\":" + ack + "},\"presence\":{\"key\":\"" + presenceKey + "\",\"enabled\":true}}}]");
    JsonNode reply = await(n -> n.get(3).asText().equals("phx_reply") && n.get(1).asText().equals(r),
        Duration.ofSeconds(10), "join reply");
    if (!reply.get(4).path("status").asText().equals("ok")) {
      throw new AssertionError("join refused: " + reply);
    }
  }

  public void track(String room, String fieldsJson) {
    String r = nextRef();
    send("[\"1\",\"" + r + "\",\"realtime:" + room + "\",\"presence\",{\"type\":\"presence\",\"event\":\"track\","
        + "\"payload\":" + fieldsJson + "}]");
  }

  public void untrack(String room) {
    String r = nextRef();
    send("[\"1\",\"" + r + "\",\"realtime:" + room + "\",\"presence\",{\"type\":\"presence\",\"event\":\"untrack\"}]");
  }

  /**
   * Joins {@code realtime:changes} for the inserts into {@code public.<table>} ({@code *}: every table) and waits
   * until the server says the subscription is ready.
   */
  public void joinInserts(String table) throws InterruptedException {
    String r = nextRef();
    send("[\"" + r + "\",\"" + r + "\",\"realtime:changes\",\"phx_join\",{\"config\":{\"postgres_changes\":["
        + "{\"event\":\"INSERT\",\"schema\":\"public\",\"table\":\"" + table + "\"}]}}]");
    JsonNode sys = await(n -> n.get(3).asText().equals("system") && n.get(2).asText().equals("realtime:changes"),
        Duration.ofSeconds(30), "postgres_changes subscription on " + table);
    if (!sys.get(4).path("status").asText().equals("ok")) {
      throw new AssertionError("postgres_changes subscription refused: " + sys);
    }
  }

  /** Sends a broadcast; returns its ref. */
  public String broadcast(String room, String event, String payloadJson) {
    String r = nextRef();
    send("[\"1\",\"" + r + "\",\"realtime:" + room + "\",\"broadcast\",{\"type\":\"broadcast\",\"event\":\"" + event
        + "\",\"payload\":" + payloadJson + "}]");
    return r;
  }

  public List<JsonNode> broadcasts(String event) {
    return received.stream()
        .filter(n -> n.get(3).asText().equals("broadcast") && n.get(4).path("event").asText().equals(event))
        .toList();
  }

  public JsonNode await(Predicate<JsonNode> p, Duration timeout, String what) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (JsonNode n : received) {
        if (p.test(n)) {
          return n;
        }
      }
      Thread.sleep(10);
    }
    throw new AssertionError("timed out waiting for " + what + "; received " + received);
  }

  /** Polls {@code condition} until it holds or {@code timeout} passes. */
  public static void awaitTrue(BooleanSupplier condition, Duration timeout, Supplier<String> what)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what.get());
      }
      Thread.sleep(10);
    }
  }

  @Override
  public void close() {
    ws.abort();
  }
}
