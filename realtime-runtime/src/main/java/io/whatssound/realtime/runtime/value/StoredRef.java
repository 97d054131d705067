package io.whatssound.realtime.runtime.value;

/**
 * Identifies a broadcast stored in {@code realtime.messages}.
 *
 * @param id               the row id, sent as {@code meta.id}
 * @param insertedAtMillis the row's {@code inserted_at}, in epoch milliseconds
 */
public record StoredRef(String id, long insertedAtMillis) {}
