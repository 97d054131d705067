package io.whatssound.realtime.runtime.protocol;

import java.util.Optional;

/** The serializer version a client asks for with the {@code vsn} query parameter. */
public enum Vsn {
  V1("1.0.0"),
  V2("2.0.0");

  private final String wire;

  Vsn(String wire) {
    this.wire = wire;
  }

  public String wire() {
    return wire;
  }

  /** Absent means 1.0.0, as Phoenix does; an unknown version is empty. */
  public static Optional<Vsn> parse(String value) {
    if (value == null || value.isEmpty()) {
      return Optional.of(V1);
    }
    for (Vsn v : values()) {
      if (v.wire.equals(value)) {
        return Optional.of(v);
      }
    }
    return Optional.empty();
  }

  public FrameCodec codec() {
    return this == V1 ? JsonObjectCodec.INSTANCE : JsonArrayCodec.INSTANCE;
  }
}
