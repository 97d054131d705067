package io.whatssound.realtime.runtime.config;

import io.whatssound.realtime.postgres.ContractSettings;
import io.whatssound.realtime.postgres.DatabaseUrl;
import java.util.Optional;

/**
 * Which database the runtime streams from and queries.
 *
 * @param mode         no database, an embedded one started by the runtime, or a given URL
 * @param url          direct connection (replication needs it; never through PgBouncer)
 * @param poolUrl      connection for queries (replay, checks), e.g. through PgBouncer; defaults to {@code url}
 * @param provision    whether the runtime applies the database contract itself
 * @param contract     publication, slot and partition settings
 * @param embeddedPort port of the embedded database (0 picks a free one)
 */
public record DatabaseSettings(
    Mode mode, Optional<DatabaseUrl> url, Optional<DatabaseUrl> poolUrl, boolean provision, ContractSettings contract,
    int embeddedPort) {

  public enum Mode {
    NONE,
    EMBEDDED,
    URL
  }

  public static DatabaseSettings none() {
    return new DatabaseSettings(Mode.NONE, Optional.empty(), Optional.empty(), false, ContractSettings.defaults(), 0);
  }

  public boolean enabled() {
    return mode != Mode.NONE;
  }

  /** The settings once an embedded database runs at {@code url}. */
  public DatabaseSettings withUrl(DatabaseUrl started) {
    return new DatabaseSettings(mode, Optional.of(started), Optional.of(started), provision, contract, embeddedPort);
  }

  public DatabaseUrl queryUrl() {
    return poolUrl.or(() -> url).orElseThrow();
  }
}
