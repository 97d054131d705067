package io.whatssound.realtime.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import org.junit.jupiter.api.Test;

class ControlFramesTest {

  @Test
  void aFragmentedMessageOverTheLargestIsClosedWith1009() {
    RuntimeMetrics metrics = new RuntimeMetrics();
    EmbeddedChannel ch = new EmbeddedChannel(new WebSocketFrameAggregator(16), new ControlFrames(metrics),
        new ChannelInboundHandlerAdapter());
    try {
      ch.writeInbound(new TextWebSocketFrame(false, 0, Unpooled.wrappedBuffer(new byte[10])));
      ch.writeInbound(new ContinuationWebSocketFrame(false, 0, Unpooled.wrappedBuffer(new byte[10])));
      CloseWebSocketFrame close = ch.readOutbound();
      try {
        assertEquals(1009, close.statusCode(), "message too big, as for a single oversized frame");
      } finally {
        close.release();
      }
      assertNull(ch.readOutbound());
      assertFalse(ch.isOpen(), "then the connection ends");
      assertEquals(1, metrics.registry().counter("realtime_rejections", "reason", "message_too_big").count());
      assertTrue(ch.inboundMessages().isEmpty(), "nothing of the message reached the session");
    } finally {
      ch.finishAndReleaseAll();
    }
  }
}
