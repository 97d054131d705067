package io.whatssound.realtime.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.whatssound.realtime.runtime.protocol.InboundMessage;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The server's side of clock sync (PROTOCOL.md, "Clock"): the {@code phoenix}/{@code clock} push and
 * {@code GET /api/time} answer NTP's t1 (when the request arrived) and t2 (when the answer leaves), in epoch
 * milliseconds with microsecond fractions. t1 is read once the request is decoded and known to ask for the time (so
 * no other frame or request pays for a clock read); t2 as the answer is encoded, and it is written and flushed at
 * once. What lies between t2 and the wire (bytes the socket
 * already had queued) and between the wire and t1 counts as network delay for the client, so the offset's error stays
 * within half the round trip, the bound NTP gives.
 */
final class ClockSync {
  private final Clock clock;

  ClockSync(Clock clock) {
    this.clock = clock;
  }

  /** Now, in epoch milliseconds with microsecond fractions. */
  BigDecimal now() {
    return millis(clock.instant());
  }

  private static BigDecimal millis(Instant t) {
    long micros = Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000);
    return BigDecimal.valueOf(micros, 3);
  }

  /** Answers a {@code clock} push received at {@code t1}: ok {@code {t0, t1, t2}}, or an error without {@code t0}. */
  void answer(SocketOutput out, InboundMessage m, BigDecimal t1) {
    JsonNode t0 = m.payload() == null ? null : m.payload().get("t0");
    if (t0 == null || !t0.isNumber()) {
      out.reply(m, "error", SocketOutput.reason("clock needs t0, the client's send time in epoch milliseconds"));
      return;
    }
    out.reply(m, "ok", g -> {
      g.writeStartObject();
      g.writeFieldName("t0");
      g.writeTree(t0);
      g.writeNumberField("t1", t1);
      g.writeNumberField("t2", now());
      g.writeEndObject();
    });
  }

  /** {@code GET /api/time}: {@code {t1, t2}}, the request having arrived at {@code t1}. */
  void answer(ChannelHandlerContext ctx, FullHttpRequest req, BigDecimal t1) {
    Map<String, BigDecimal> body = new LinkedHashMap<>();
    body.put("t1", t1);
    body.put("t2", now());
    HttpResponses.json(ctx, req, HttpResponseStatus.OK, body);
  }
}
