package io.whatssound.realtime.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.whatssound.realtime.runtime.TestSocket;
import io.whatssound.realtime.runtime.cluster.ClusterSettings;
import io.whatssound.realtime.runtime.config.RuntimeConfig;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TransportTest {

  /** A broadcast between two sockets, on each transport this machine has. */
  @ParameterizedTest
  @ValueSource(strings = {"epoll", "io_uring", "nio"})
  void serveOnEachTransportThisMachineHas(String name) throws Exception {
    boolean available = switch (name) {
      case "epoll" -> Epoll.isAvailable();
      case "io_uring" -> IoUring.isAvailable();
      default -> true;
    };
    assumeTrue(available, name + " is not available here");
    RuntimeConfig config = RuntimeConfig.fromEnv(Map.of("REALTIME_PORT", "0", "REALTIME_HOST", "127.0.0.1",
        "REALTIME_DB_URL", "none", "REALTIME_TRANSPORT", name)).withJwtSecret(SocketSessionTest.SECRET);
    RealtimeServer server = new RealtimeServer(config, ClusterSettings.single("transport-test"), Clock.systemUTC())
        .start();
    String key = TestSocket.token(SocketSessionTest.SECRET, "anon");
    try (TestSocket a = new TestSocket(server.port(), key); TestSocket b = new TestSocket(server.port(), key)) {
      a.join("room", "a", false, false);
      b.join("room", "b", false, false);
      a.broadcast("room", "hello", "{\"on\":\"" + name + "\"}");
      b.await(n -> n.get(3).asText().equals("broadcast") && n.get(4).path("payload").path("on").asText().equals(name),
          Duration.ofSeconds(10), "the broadcast over " + name);
    } finally {
      server.shutdown(Duration.ofMillis(100));
    }
  }

  @Test
  void autoTakesEpollWhereItExistsElseIoUringElseNio() {
    Transport t = Transport.choose("auto");
    if (Epoll.isAvailable()) {
      assertEquals(new Transport("epoll", t.io(), EpollServerSocketChannel.class), t);
    } else if (IoUring.isAvailable()) {
      assertEquals(IoUringServerSocketChannel.class, t.serverChannel());
    } else {
      assertEquals(NioServerSocketChannel.class, t.serverChannel());
    }
  }

  @Test
  void aNamedTransportIsThatOneOrARefusalWithTheReason() {
    assertEquals("nio", Transport.choose("nio").name());
    if (IoUring.isAvailable()) {
      assertEquals(IoUringServerSocketChannel.class, Transport.choose("io_uring").serverChannel());
    } else {
      var e = assertThrows(IllegalStateException.class, () -> Transport.choose("io_uring"));
      assertTrue(e.getMessage().startsWith("REALTIME_TRANSPORT=io_uring, but io_uring is not available here: "),
          e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> Transport.choose("kqueue"));
  }
}
