package io.whatssound.realtime.runtime.server;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.timeout.IdleStateEvent;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * WebSocket control frames and idleness, ahead of the {@link SocketSession}: answers a ping with a pong, echoes a
 * close and ends the connection, drops pongs, closes a socket that sent nothing for the idle timeout, and closes
 * with 1009 (message too big) a socket whose fragmented message outgrew the largest message, as the frame decoder does
 * for a single frame. Data frames pass on untouched. Runs on the socket's event loop.
 */
final class ControlFrames extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(ControlFrames.class);

  private final RuntimeMetrics metrics;
  private boolean closing;

  ControlFrames(RuntimeMetrics metrics) {
    this.metrics = metrics;
  }

  /** Whether the socket is being closed on purpose (by either side), so later errors are routine. */
  boolean closing() {
    return closing;
  }

  /** Marks the socket as closing on the server's initiative. */
  void closingNow() {
    closing = true;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof PingWebSocketFrame ping) {
      ctx.writeAndFlush(new PongWebSocketFrame(ping.content()), ctx.voidPromise());
    } else if (msg instanceof CloseWebSocketFrame close) {
      closing = true;
      ctx.writeAndFlush(close).addListener(ChannelFutureListener.CLOSE);
    } else if (msg instanceof PongWebSocketFrame pong) {
      pong.release();
    } else {
      ctx.fireChannelRead(msg);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof TooLongFrameException && !closing) {
      LOG.debug("Closing socket {}: {}", ctx.channel().remoteAddress(), cause.getMessage());
      metrics.rejected("message_too_big");
      closing = true;
      ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.MESSAGE_TOO_BIG))
          .addListener(ChannelFutureListener.CLOSE);
      return;
    }
    ctx.fireExceptionCaught(cause);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent) {
      LOG.debug("Closing idle socket {}", ctx.channel().remoteAddress());
      metrics.rejected("idle_timeout");
      closing = true;
      ctx.close();
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }
}
