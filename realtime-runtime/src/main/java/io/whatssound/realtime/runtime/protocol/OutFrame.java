package io.whatssound.realtime.runtime.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;

/** Encoded bytes of one outgoing message and whether they travel as a binary frame. */
public record OutFrame(ByteBuf content, boolean binary) {

  /** A frame over a retained duplicate, so one encoding can be written to many sockets. */
  public WebSocketFrame sharedFrame() {
    ByteBuf dup = content.retainedDuplicate();
    return binary ? new BinaryWebSocketFrame(dup) : new TextWebSocketFrame(dup);
  }

  /** A frame that takes ownership of the bytes. */
  public WebSocketFrame frame() {
    return binary ? new BinaryWebSocketFrame(content) : new TextWebSocketFrame(content);
  }
}
