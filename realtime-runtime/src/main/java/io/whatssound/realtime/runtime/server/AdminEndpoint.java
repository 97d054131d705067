package io.whatssound.realtime.runtime.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /admin/shed?count=N&seconds=S} on the metrics port only: asks this pod to let {@code N} of its sockets go
 * (each told "Server requested disconnect", as in a drain), paced over {@code S} seconds, so that their clients
 * reconnect through the Service and land on emptier pods. The operator calls it to rebalance a pool after a scale-up.
 * It needs {@code Authorization: Bearer <REALTIME_CLUSTER_KEY>}, which the tenant's pods and the operator share; other
 * paths pass on to the probes.
 */
final class AdminEndpoint extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(AdminEndpoint.class);
  static final int MAX_SECONDS = 600;

  /** Lets {@code count} sockets go over {@code window}; returns how many it will. */
  @FunctionalInterface
  interface Shedder {
    int shed(int count, Duration window);
  }

  private final byte[] key;
  private final Shedder shedder;

  AdminEndpoint(String clusterKey, Shedder shedder) {
    this.key = ("Bearer " + clusterKey).getBytes(StandardCharsets.UTF_8);
    this.shedder = shedder;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof FullHttpRequest req) || !new QueryStringDecoder(req.uri()).path().equals("/admin/shed")) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      handle(ctx, req);
    } finally {
      req.release();
    }
  }

  private void handle(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (!req.method().equals(HttpMethod.POST)) {
      HttpResponses.json(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, Map.of("message", "Use POST"));
      return;
    }
    String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION, "");
    if (!MessageDigest.isEqual(key, auth.getBytes(StandardCharsets.UTF_8))) {
      HttpResponses.json(ctx, req, HttpResponseStatus.UNAUTHORIZED,
          Map.of("message", "send Authorization: Bearer <the tenant's cluster key>"));
      return;
    }
    QueryStringDecoder uri = new QueryStringDecoder(req.uri());
    int count;
    int seconds;
    try {
      count = Integer.parseInt(HttpRouter.query(uri, "count"));
      String s = HttpRouter.query(uri, "seconds");
      seconds = s == null ? 5 : Integer.parseInt(s);
    } catch (NumberFormatException e) {
      HttpResponses.json(ctx, req, HttpResponseStatus.BAD_REQUEST,
          Map.of("message", "count (sockets, at least 1) and seconds (1 to " + MAX_SECONDS + ") must be whole numbers"));
      return;
    }
    if (count < 1 || seconds < 1 || seconds > MAX_SECONDS) {
      HttpResponses.json(ctx, req, HttpResponseStatus.BAD_REQUEST,
          Map.of("message", "count must be at least 1 and seconds between 1 and " + MAX_SECONDS));
      return;
    }
    int shedding = shedder.shed(count, Duration.ofSeconds(seconds));
    LOG.info("Shedding {} of the {} sockets asked for over {} s", shedding, count, seconds);
    HttpResponses.json(ctx, req, HttpResponseStatus.ACCEPTED, Map.of("shedding", shedding));
  }
}
