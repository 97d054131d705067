package io.whatssound.realtime.runtime.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;

/** Encoded bytes of one outgoing message and whether they travel as a binary frame. */
public record OutFrame(ByteBuf content, boolean binary) {

  /**
   * The complete WebSocket frame as it goes on the wire (server frames are unmasked): a header and the
   * bytes, built once so that fan-out writes need neither Netty's frame encoder nor a copy per socket.
   */
  public ByteBuf wire(ByteBufAllocator alloc) {
    int len = content.readableBytes();
    int header = len < 126 ? 2 : len <= 0xFFFF ? 4 : 10;
    ByteBuf out = alloc.directBuffer(header + len);
    out.writeByte(0x80 | (binary ? 0x2 : 0x1));
    if (len < 126) {
      out.writeByte(len);
    } else if (len <= 0xFFFF) {
      out.writeByte(126);
      out.writeShort(len);
    } else {
      out.writeByte(127);
      out.writeLong(len);
    }
    out.writeBytes(content, content.readerIndex(), len);
    return out;
  }

  /** A frame that takes ownership of the bytes. */
  public WebSocketFrame frame() {
    return binary ? new BinaryWebSocketFrame(content) : new TextWebSocketFrame(content);
  }
}
