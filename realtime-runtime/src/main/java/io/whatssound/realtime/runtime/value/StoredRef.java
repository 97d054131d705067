package io.whatssound.realtime.runtime.value;

/**
 * Identifies a broadcast stored in {@code realtime.messages}.
 *
 * @param id               the row id, sent as {@code meta.id}
 * @param insertedAtMicros the row's {@code inserted_at}, in epoch microseconds ({@link EpochMicros})
 */
public record StoredRef(String id, long insertedAtMicros) {}
