package io.whatssound.realtime.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.LongAdder;

/**
 * Keep-alive HTTP connections posting to {@code /api/broadcast} (the runtime, with the service key) or to another path
 * (nchan's publisher location, without a key), one request in flight per connection.
 */
final class RestPublisher {
  private final ConcurrentLinkedQueue<Channel> idle = new ConcurrentLinkedQueue<>();
  final Map<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
  private final String host;
  private final String bearer;
  private final String path;

  RestPublisher(Client client, int connections) throws InterruptedException {
    this(client, connections, "/api/broadcast");
  }

  RestPublisher(Client client, int connections, String path) throws InterruptedException {
    this.host = client.base.getHost() + ":" + client.base.getPort();
    this.bearer = client.raw ? null : "Bearer " + client.serviceKey;
    this.path = path;
    Bootstrap b =
        new Bootstrap()
            .group(client.group)
            .channel(Epoll.isAvailable() ? EpollSocketChannel.class : NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(new HttpClientCodec())
                        .addLast(new HttpObjectAggregator(1 << 20))
                        .addLast(
                            new SimpleChannelInboundHandler<FullHttpResponse>() {
                              @Override
                              protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse r) {
                                statuses.computeIfAbsent(r.status().code(), k -> new LongAdder()).increment();
                                idle.add(ctx.channel());
                              }
                            });
                  }
                });
    for (int i = 0; i < connections; i++) {
      idle.add(b.connect(client.base.getHost(), client.base.getPort()).sync().channel());
    }
  }

  /** Posts one batch body if a connection is free; false when all are busy. */
  boolean post(String body) {
    return post(path, body);
  }

  /** Posts {@code body} to {@code path} if a connection is free; false when all are busy. */
  boolean post(String path, String body) {
    Channel ch = idle.poll();
    if (ch == null) {
      return false;
    }
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    FullHttpRequest req =
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path, Unpooled.wrappedBuffer(bytes));
    req.headers()
        .set(HttpHeaderNames.HOST, host)
        .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
        .set(HttpHeaderNames.CONTENT_LENGTH, bytes.length)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
    if (bearer != null) {
      req.headers().set(HttpHeaderNames.AUTHORIZATION, bearer);
    }
    ch.writeAndFlush(req, ch.voidPromise());
    return true;
  }

  String statusSummary() {
    StringBuilder sb = new StringBuilder();
    statuses.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : " ").append(k).append('=').append(v.sum()));
    return sb.toString();
  }

  void close() {
    idle.forEach(Channel::close);
  }
}
