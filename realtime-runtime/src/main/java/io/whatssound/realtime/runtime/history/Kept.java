package io.whatssound.realtime.runtime.history;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whatssound.realtime.runtime.protocol.Json;
import io.whatssound.realtime.runtime.protocol.UserBroadcast;
import io.whatssound.realtime.runtime.value.EpochMicros;
import io.whatssound.realtime.runtime.value.StoredRef;

/**
 * A broadcast kept for replay or as a latest value.
 *
 * @param id      the row id in {@code realtime.messages}; null for a latest value of a topic without history
 * @param at      epoch microseconds: the row's {@code inserted_at}, or when this pod saw it (without an id)
 * @param event   the user's event name
 * @param payload JSON bytes, or raw bytes when {@code binary}
 * @param binary  whether the payload is binary
 */
public record Kept(String id, long at, String event, byte[] payload, boolean binary) {

  /** {@code broadcast} as kept under {@code id} and {@code at}. */
  public static Kept of(UserBroadcast broadcast, String id, long at) {
    return new Kept(id, at, broadcast.event(), broadcast.payload(), broadcast.binary());
  }

  /** {@code broadcast} as stored under {@code ref}. */
  public static Kept of(UserBroadcast broadcast, StoredRef ref) {
    return of(broadcast, ref.id(), ref.insertedAtMicros());
  }

  public StoredRef ref() {
    return new StoredRef(id, at);
  }

  /** As delivered live: {@code meta: {id, at}}. */
  public UserBroadcast live() {
    return new UserBroadcast(event, payload, binary, meta(false, false));
  }

  /** As replayed ({@code meta.replayed}), or sent to a joiner as a latest value ({@code meta.latest} too). */
  public UserBroadcast replayed(boolean latest) {
    return new UserBroadcast(event, payload, binary, meta(true, latest));
  }

  private ObjectNode meta(boolean replayed, boolean latest) {
    ObjectNode meta = Json.MAPPER.createObjectNode();
    if (id != null) {
      meta.put("id", id).put("at", EpochMicros.millis(at));
    }
    if (replayed) {
      meta.put("replayed", true);
    }
    if (latest) {
      meta.put("latest", true);
    }
    return meta;
  }

  /** Roughly what this takes in memory. */
  int bytes() {
    return payload.length + event.length() * 2 + 96;
  }
}
