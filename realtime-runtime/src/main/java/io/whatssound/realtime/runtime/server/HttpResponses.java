package io.whatssound.realtime.runtime.server;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.whatssound.realtime.runtime.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Writing HTTP answers: JSON bodies, CORS headers, keep-alive. */
final class HttpResponses {
  private HttpResponses() {}

  static void json(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, Map<String, ?> body) {
    byte[] bytes = body == null ? new byte[0] : Json.bytes(Json.MAPPER.valueToTree(body));
    send(ctx, req, status, bytes, "application/json");
  }

  static void text(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String body, String type) {
    send(ctx, req, status, body.getBytes(StandardCharsets.UTF_8), type);
  }

  static void send(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, byte[] body, String type) {
    FullHttpResponse res =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
    res.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
    if (body.length > 0) {
      res.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
    }
    cors(res);
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    if (keepAlive) {
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
      ctx.writeAndFlush(res, ctx.voidPromise());
    } else {
      ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
    }
  }

  static void cors(FullHttpResponse res) {
    res.headers()
        .set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS")
        .set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, "authorization, apikey, x-api-key, content-type, x-client-info")
        .set(HttpHeaderNames.ACCESS_CONTROL_MAX_AGE, "86400");
  }
}
