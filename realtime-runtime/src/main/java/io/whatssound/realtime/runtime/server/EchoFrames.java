package io.whatssound.realtime.runtime.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * The conformance echo's last handler: each whole message (text or binary, after the socket's aggregation) goes back
 * as it came. Control frames never reach it ({@link ControlFrames} answers them).
 */
final class EchoFrames extends ChannelInboundHandlerAdapter {
  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof TextWebSocketFrame || msg instanceof BinaryWebSocketFrame) {
      ctx.writeAndFlush(msg, ctx.voidPromise());
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  /** Anything else that goes wrong ends the socket, as it does a client's. */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
