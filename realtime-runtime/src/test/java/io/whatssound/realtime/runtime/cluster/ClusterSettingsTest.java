package io.whatssound.realtime.runtime.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whatssound.realtime.runtime.config.RuntimeConfig.ConfigException;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.ChangeRecord;
import io.whatssound.realtime.runtime.value.StoredRef;
import io.whatssound.realtime.runtime.value.TopicKey;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The cluster's configuration and wire format, without JGroups. */
class ClusterSettingsTest {

  @Test
  void neitherPeersNorDnsIsASingleNode() {
    ClusterSettings s = ClusterSettings.fromEnv(Map.of(), "realtime-slot");
    assertFalse(s.enabled());
    assertEquals("realtime-slot", s.name());
    assertEquals(7800, s.port());
    assertEquals(Duration.ofSeconds(6), s.failureDetection());
  }

  @Test
  void staticPeersOnLoopbackBindToLoopback() {
    ClusterSettings s = ClusterSettings.fromEnv(Map.of("REALTIME_CLUSTER_PEERS", "127.0.0.1:7800, localhost:7801",
        "REALTIME_CLUSTER_NAME", "t1", "REALTIME_CLUSTER_FAILURE_DETECTION_MS", "3000"), "x");
    assertTrue(s.enabled());
    assertEquals("t1", s.name());
    assertEquals(2, s.peers().size());
    assertEquals(7801, s.peers().get(1).getPort());
    assertEquals("127.0.0.1", s.bind());
    assertEquals(Duration.ofMillis(750), s.verifyTimeout());
  }

  @Test
  void dnsDiscoveryAndErrorsThatNameTheVariable() {
    ClusterSettings s = ClusterSettings.fromEnv(Map.of("REALTIME_CLUSTER_DNS", "rt-headless.ns.svc.cluster.local",
        "REALTIME_CLUSTER_BIND", "10.1.2.3"), "x");
    assertTrue(s.enabled());
    assertEquals(Optional.of("rt-headless.ns.svc.cluster.local"), s.dns());
    assertEquals("10.1.2.3", s.bind());
    ConfigException e = assertThrows(ConfigException.class,
        () -> ClusterSettings.fromEnv(Map.of("REALTIME_CLUSTER_PEERS", "a:b"), "x"));
    assertTrue(e.getMessage().contains("REALTIME_CLUSTER_PEERS"), e.getMessage());
    e = assertThrows(ConfigException.class, () -> ClusterSettings.fromEnv(
        Map.of("REALTIME_CLUSTER_PEERS", "a:1", "REALTIME_CLUSTER_DNS", "svc"), "x"));
    assertTrue(e.getMessage().contains("not both"), e.getMessage());
    e = assertThrows(ConfigException.class,
        () -> ClusterSettings.fromEnv(Map.of("REALTIME_CLUSTER_PORT", "99999"), "x"));
    assertTrue(e.getMessage().contains("REALTIME_CLUSTER_PORT"), e.getMessage());
  }

  @Test
  void aClusterKeyIsTakenWhenLongEnoughAndNeverShown() {
    ClusterSettings s = ClusterSettings.fromEnv(Map.of("REALTIME_CLUSTER_DNS", "rt.ns.svc",
        "REALTIME_CLUSTER_KEY", "a-tenant-key-of-some-length"), "x");
    assertEquals("a-tenant-key-of-some-length", s.key().orElseThrow());
    assertFalse(s.toString().contains("a-tenant-key"), s.toString());
    assertTrue(ClusterSettings.fromEnv(Map.of("REALTIME_CLUSTER_DNS", "rt.ns.svc"), "x").key().isEmpty());
    ConfigException e = assertThrows(ConfigException.class, () -> ClusterSettings.fromEnv(
        Map.of("REALTIME_CLUSTER_DNS", "rt.ns.svc", "REALTIME_CLUSTER_KEY", "short"), "x"));
    assertTrue(e.getMessage().contains("REALTIME_CLUSTER_KEY must be at least 16 characters"), e.getMessage());
    assertFalse(e.getMessage().contains("short"), "the refused key is not repeated");
  }

  @Test
  void messagesSurviveTheWire() throws Exception {
    ObjectNode meta = Json.MAPPER.createObjectNode().put("id", "m1");
    byte[] payload = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);
    var b = new ClusterMessage.Broadcast(new TopicKey("realtime:r", true), new UserBroadcast("e", payload, false, meta),
        new StoredRef("m1", 42));
    var back = (ClusterMessage.Broadcast) ClusterMessage.decode(roundTrip(b), 0, roundTrip(b).length).message();
    assertEquals(b.key(), back.key());
    assertEquals("e", back.broadcast().event());
    assertEquals("{\"a\":1}", new String(back.broadcast().payload(), StandardCharsets.UTF_8));
    assertEquals(meta, back.broadcast().meta());
    assertEquals(b.stored(), back.stored());

    var plain = new ClusterMessage.Broadcast(new TopicKey("realtime:r", false),
        new UserBroadcast("bin", new byte[] {0, 1, 2}, true, null), null);
    var plainBack = (ClusterMessage.Broadcast) decode(plain);
    assertTrue(plainBack.broadcast().binary());
    assertNull(plainBack.broadcast().meta());
    assertNull(plainBack.stored());

    ObjectNode fields = Json.MAPPER.createObjectNode().put("role", "dj");
    var track = new ClusterMessage.Track(new TopicKey("realtime:p", false), "node-1", "anna", "ref-1", fields);
    assertEquals(track, decode(track));
    var snap = new ClusterMessage.Snapshot(List.of(track, track));
    assertEquals(snap, decode(snap));
    var untrack = new ClusterMessage.Untrack(new TopicKey("realtime:p", false), "node-1");
    assertEquals(untrack, decode(untrack));
    assertEquals(new ClusterMessage.Status(7, true), decode(new ClusterMessage.Status(7, true)));

    Map<String, String> cols = new LinkedHashMap<>();
    cols.put("id", "int4");
    cols.put("song", "text");
    ObjectNode rec = Json.MAPPER.createObjectNode().put("id", 1).put("song", "x");
    var change = new ClusterMessage.Change(123L, 4,
        new ChangeRecord("public", "plays", "UPDATE", "2026-01-01T00:00:00.000Z", cols,
            new LinkedHashSet<>(List.of("id")), rec, Json.MAPPER.createObjectNode().put("id", 1)));
    var changeBack = (ClusterMessage.Change) decode(change);
    assertEquals(123L, changeBack.lsn());
    assertEquals(4, changeBack.index());
    assertEquals(change.change(), changeBack.change());
  }

  private static byte[] roundTrip(ClusterMessage m) {
    return ClusterMessage.encode(m, 1000);
  }

  private static ClusterMessage decode(ClusterMessage m) throws Exception {
    byte[] b = roundTrip(m);
    ClusterMessage.Envelope e = ClusterMessage.decode(b, 0, b.length);
    assertEquals(1000, e.sentAtMillis());
    return e.message();
  }
}
