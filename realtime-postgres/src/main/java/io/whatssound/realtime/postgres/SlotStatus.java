package io.whatssound.realtime.postgres;

import java.util.Optional;

/**
 * A replication slot as PostgreSQL reports it.
 *
 * @param name              slot name
 * @param active            whether a session streams from it now
 * @param activePid         that session's backend pid
 * @param walStatus         {@code reserved}, {@code extended}, {@code unreserved} or {@code lost}
 * @param lagBytes          WAL written since the slot's confirmed position (what the slot retains)
 * @param confirmedFlushLsn the position acknowledged by the consumer
 * @param retainedBytes     WAL the server keeps for the slot: written since its {@code restart_lsn}
 */
public record SlotStatus(
    String name, boolean active, Optional<Integer> activePid, Optional<String> walStatus, Optional<Long> lagBytes,
    Optional<String> confirmedFlushLsn, Optional<Long> retainedBytes) {}
