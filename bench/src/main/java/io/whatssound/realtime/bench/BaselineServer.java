package io.whatssound.realtime.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.concurrent.EventExecutor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A plain Netty broadcast server to compare the runtime with: it answers joins and heartbeats (vsn
 * 2.0.0) and sends each broadcast's bytes, framed once, to every socket of the topic with one write and
 * one flush per socket per message, one task per event loop, without parsing, authorizing, counting,
 * limiting or coalescing anything. Run it in place of the runtime and point {@code fanout} at it.
 *
 * <p>{@code java -cp bench/target/realtime-bench.jar io.whatssound.realtime.bench.BaselineServer [port] [threads]}
 */
public final class BaselineServer {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Sockets of one topic, by event loop, each list touched only on its loop. */
  private final Map<String, Map<EventExecutor, List<Channel>>> topics = new ConcurrentHashMap<>();

  private BaselineServer() {}

  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 4500;
    int threads = args.length > 1 ? Integer.parseInt(args[1]) : Runtime.getRuntime().availableProcessors();
    boolean epoll = Epoll.isAvailable();
    EventLoopGroup group =
        new MultiThreadIoEventLoopGroup(threads, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    BaselineServer server = new BaselineServer();
    Channel ch = new ServerBootstrap()
        .group(group)
        .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 4096)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel c) {
            c.pipeline()
                .addLast(new HttpServerCodec())
                .addLast(new HttpObjectAggregator(1 << 20))
                .addLast(new WebSocketServerProtocolHandler(WebSocketServerProtocolConfig.newBuilder()
                    .websocketPath("/socket/websocket").checkStartsWith(true).maxFramePayloadLength(1 << 20).build()))
                .addLast(server.new Session());
          }
        })
        .bind("0.0.0.0", port).sync().channel();
    System.out.printf("baseline server on port %d (%s, %d loops), pid %d%n", port, epoll ? "epoll" : "nio", threads,
        ProcessHandle.current().pid());
    ch.closeFuture().sync();
  }

  private final class Session extends SimpleChannelInboundHandler<TextWebSocketFrame> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, TextWebSocketFrame frame) throws Exception {
      ByteBuf content = frame.content();
      String text = content.toString(StandardCharsets.UTF_8);
      if (text.contains("\"broadcast\",{")) { // the event, not the join config's "broadcast":{
        String topic = JSON.readTree(text).get(2).asText();
        fanOut(topic, wsFrame(content));
        return;
      }
      JsonNode m = JSON.readTree(text); // [join_ref, ref, topic, event, payload]
      String topic = m.get(2).asText();
      if ("phx_join".equals(m.get(3).asText())) {
        topics.computeIfAbsent(topic, t -> new ConcurrentHashMap<>())
            .computeIfAbsent(ctx.executor(), l -> new ArrayList<>()).add(ctx.channel());
      }
      String reply = JSON.writeValueAsString(List.of(m.get(0), m.get(1), topic, "phx_reply",
          Map.of("status", "ok", "response", Map.of())));
      ctx.writeAndFlush(new TextWebSocketFrame(reply));
    }
  }

  /** One unmasked text frame holding {@code payload}, built once for all recipients. */
  private static ByteBuf wsFrame(ByteBuf payload) {
    int len = payload.readableBytes();
    ByteBuf f = Unpooled.directBuffer(len + 10);
    f.writeByte(0x81);
    if (len < 126) {
      f.writeByte(len);
    } else if (len < 65536) {
      f.writeByte(126).writeShort(len);
    } else {
      f.writeByte(127).writeLong(len);
    }
    f.writeBytes(payload, payload.readerIndex(), len);
    return f;
  }

  private void fanOut(String topic, ByteBuf frame) {
    Map<EventExecutor, List<Channel>> byLoop = topics.getOrDefault(topic, Map.of());
    for (Map.Entry<EventExecutor, List<Channel>> e : byLoop.entrySet()) {
      frame.retain();
      e.getKey().execute(() -> {
        for (Channel c : e.getValue()) {
          if (c.isActive()) {
            c.write(frame.retainedDuplicate(), c.voidPromise());
          }
        }
        for (Channel c : e.getValue()) {
          c.flush();
        }
        frame.release();
      });
    }
    frame.release();
  }
}
