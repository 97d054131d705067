package io.whatssound.realtime.runtime.server;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import java.util.Locale;

/**
 * The socket transport the event loops run on: Linux io_uring, Linux epoll, or Java NIO (anywhere). {@code auto} takes
 * the first of {@link #AUTO_ORDER} that this machine has; naming one that the machine lacks stops the start with the
 * reason, so a setting never silently changes what runs.
 *
 * @param name           what the log and the metrics call it
 * @param io             the event loops' I/O handler
 * @param serverChannel  the listening socket's class
 */
public record Transport(String name, IoHandlerFactory io, Class<? extends ServerChannel> serverChannel) {
  /** {@code auto}'s preference (docs/benchmarks.md, "Fan-out against nchan", has the measurements behind it). */
  public static final String AUTO_ORDER = "epoll, io_uring, nio";

  /** The transport {@code wanted} names ({@code auto}, {@code io_uring}, {@code epoll} or {@code nio}). */
  public static Transport choose(String wanted) {
    switch (wanted.toLowerCase(Locale.ROOT)) {
      case "auto":
        if (Epoll.isAvailable()) {
          return epoll();
        }
        if (IoUring.isAvailable()) {
          return ioUring();
        }
        return nio();
      case "epoll":
        if (!Epoll.isAvailable()) {
          throw new IllegalStateException("REALTIME_TRANSPORT=epoll, but epoll is not available here: "
              + Epoll.unavailabilityCause() + " (use auto or nio)");
        }
        return epoll();
      case "io_uring":
        if (!IoUring.isAvailable()) {
          throw new IllegalStateException("REALTIME_TRANSPORT=io_uring, but io_uring is not available here: "
              + IoUring.unavailabilityCause() + " (use auto, epoll or nio)");
        }
        return ioUring();
      case "nio":
        return nio();
      default:
        throw new IllegalArgumentException(
            "REALTIME_TRANSPORT must be auto, io_uring, epoll or nio, got '" + wanted + "'");
    }
  }

  private static Transport epoll() {
    return new Transport("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class);
  }

  private static Transport ioUring() {
    return new Transport("io_uring", IoUringIoHandler.newFactory(), IoUringServerSocketChannel.class);
  }

  private static Transport nio() {
    return new Transport("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class);
  }
}
