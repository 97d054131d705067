package io.whatssound.realtime.runtime.cluster;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Free loopback ports for tests. */
final class Ports {
  private Ports() {}

  /** {@code n} cluster ports whose failure-detection port ({@code +100}) is free as well. */
  static List<Integer> clusterPorts(int n) {
    List<Integer> out = new ArrayList<>();
    while (out.size() < n) {
      int p = ThreadLocalRandom.current().nextInt(20_000, 40_000);
      if (!out.contains(p) && !out.contains(p + 100) && !out.contains(p - 100) && free(p) && free(p + 100)) {
        out.add(p);
      }
    }
    return out;
  }

  static int free() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
