package io.whatssound.realtime.runtime.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import io.whatssound.realtime.runtime.protocol.Vsn;
import java.io.DataInputStream;
import java.io.EOFException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The slow-consumer policy on a real loopback socket: a client that stops reading is dropped after
 * {@code maxDrops} messages in a row, and finds the reason (1008 "slow consumer") when it reads again.
 */
class SocketLinkTest {
  private static final int MAX_DROPS = 3;
  private EventLoopGroup group;
  private Channel server;
  private final CompletableFuture<Channel> accepted = new CompletableFuture<>();
  private final RuntimeMetrics metrics = new RuntimeMetrics();

  @BeforeEach
  void start() throws Exception {
    group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    server = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.SO_SNDBUF, 4096)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(8 * 1024, 16 * 1024))
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new WebSocket08FrameEncoder(false));
            accepted.complete(ch);
          }
        })
        .bind("127.0.0.1", 0).sync().channel();
  }

  @AfterEach
  void stop() throws Exception {
    server.close().sync();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  /** A complete unmasked text frame with a 1,000-byte payload, as fan-out hands it to a link. */
  private static ByteBuf textFrame() {
    byte[] payload = new byte[1000];
    Arrays.fill(payload, (byte) 'x');
    ByteBuf b = Unpooled.buffer(4 + payload.length);
    b.writeByte(0x81).writeByte(126).writeShort(payload.length).writeBytes(payload);
    return b;
  }

  /** Offers frames (flushing each) until the link has dropped {@code MAX_DROPS} in a row; returns how many it took. */
  private static int fillUntilDropped(SocketLink link) {
    ByteBuf frame = textFrame();
    try {
      int written = 0;
      int drops = 0;
      for (int i = 0; i < 1_000_000 && drops < MAX_DROPS; i++) {
        if (link.offer(frame)) {
          written++;
          drops = 0;
          link.flush();
        } else {
          drops++;
        }
      }
      assertEquals(MAX_DROPS, drops, "the socket should have stopped taking data");
      // after the decision to disconnect, nothing more is written or counted
      assertFalse(link.offer(frame));
      return written;
    } finally {
      frame.release();
    }
  }

  private Socket stalledClient() throws Exception {
    Socket client = new Socket();
    client.setReceiveBufferSize(4096);
    client.connect(new InetSocketAddress("127.0.0.1", ((InetSocketAddress) server.localAddress()).getPort()));
    return client;
  }

  @Test
  void aClientThatReadsAgainFindsTheSlowConsumerCloseAfterItsData() throws Exception {
    try (Socket client = stalledClient()) {
      Channel ch = accepted.get(10, TimeUnit.SECONDS);
      SocketLink link = new SocketLink(ch, Vsn.V2.codec(), metrics, MAX_DROPS, Duration.ofSeconds(60));
      int written = ch.eventLoop().submit(() -> fillUntilDropped(link)).get(30, TimeUnit.SECONDS);
      assertTrue(written > 0);
      assertEquals(MAX_DROPS, metrics.registry().counter("realtime_slow_consumer_drops").count());
      // a phone that stalls for a couple of seconds: the socket waits for it within the grace period
      Thread.sleep(2000);
      assertTrue(ch.isOpen(), "the socket stays open while its close frame has not been read");

      client.setSoTimeout(30_000);
      DataInputStream in = new DataInputStream(client.getInputStream());
      int texts = 0;
      while (true) {
        int op = in.readUnsignedByte() & 0x0F;
        int len = in.readUnsignedByte() & 0x7F;
        if (len == 126) {
          len = in.readUnsignedShort();
        }
        byte[] payload = in.readNBytes(len);
        if (op == 0x1) {
          texts++;
          continue;
        }
        assertEquals(0x8, op, "a close frame follows the data");
        assertEquals(1008, ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF));
        assertEquals("slow consumer", new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8));
        break;
      }
      assertEquals(written, texts, "every frame written before the decision arrives first");
      assertEquals(-1, in.read(), "then the server closes the socket");
    } catch (EOFException e) {
      throw new AssertionError("the socket ended before the close frame", e);
    }
  }

  @Test
  void aClientThatNeverReadsIsClosedAfterTheGracePeriod() throws Exception {
    try (Socket client = stalledClient()) {
      Channel ch = accepted.get(10, TimeUnit.SECONDS);
      SocketLink link = new SocketLink(ch, Vsn.V2.codec(), metrics, MAX_DROPS, Duration.ofMillis(200));
      ch.eventLoop().submit(() -> fillUntilDropped(link)).get(30, TimeUnit.SECONDS);
      assertTrue(ch.closeFuture().await(30, TimeUnit.SECONDS), "the server gives up on the socket");
    }
  }
}
