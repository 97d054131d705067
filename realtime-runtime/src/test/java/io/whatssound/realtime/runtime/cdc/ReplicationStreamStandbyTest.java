package io.whatssound.realtime.runtime.cdc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseUrl;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A standby stream does not ask for a slot another pod holds; it asks as soon as no pod does. */
class ReplicationStreamStandbyTest {

  @Test
  void waitsWithoutConnectingWhileAnotherPodHoldsTheSlot() throws Exception {
    AtomicInteger asked = new AtomicInteger();
    // "held elsewhere" for the first five looks, then free
    try (ServerSocket database = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        ReplicationStream stream = new ReplicationStream(
            new DatabaseUrl("jdbc:postgresql://127.0.0.1:" + database.getLocalPort() + "/postgres", "realtime",
                Optional.of("secret")),
            ContractSettings.defaults(), false, new ReplicationStream.Sink() {
              @Override
              public void live(boolean isLive) {}

              @Override
              public void message(PgOutputMessage message) {}
            }, () -> asked.incrementAndGet() <= 5)) {
      database.setSoTimeout(30_000);
      stream.start();
      try (Socket first = database.accept()) {
        assertTrue(asked.get() > 5, "connected after " + asked.get() + " looks; the first five said another pod holds it");
      }
    }
  }
}
