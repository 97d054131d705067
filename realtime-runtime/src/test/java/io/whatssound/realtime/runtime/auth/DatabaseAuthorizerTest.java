package io.whatssound.realtime.runtime.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whatssound.realtime.runtime.auth.ChannelAuthorizer.DatabaseUnavailable;
import io.whatssound.realtime.runtime.auth.ChannelAuthorizer.Permissions;
import io.whatssound.realtime.runtime.value.TopicKey;
import io.whatssound.realtime.runtime.value.VerifiedToken;
import java.lang.reflect.Proxy;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/** Which failures of a private-channel check mean "the database is away" rather than "refused". */
class DatabaseAuthorizerTest {
  private final VerifiedToken token = new VerifiedToken("t", "authenticated", Instant.MAX, Map.of());

  /** A data source whose every connection attempt fails with {@code e}. */
  private static DataSource failing(SQLException e) {
    return (DataSource) Proxy.newProxyInstance(DatabaseAuthorizerTest.class.getClassLoader(),
        new Class<?>[] {DataSource.class}, (proxy, m, args) -> {
          throw e;
        });
  }

  @Test
  void connectionFailuresAreUnreachableAndOtherErrorsAreNot() {
    assertTrue(DatabaseAuthorizer.unreachable(new SQLException("refused", "08001")));
    assertTrue(DatabaseAuthorizer.unreachable(new SQLException("lost", "08006")));
    assertTrue(DatabaseAuthorizer.unreachable(new SQLTransientConnectionException("pool timed out")));
    assertFalse(DatabaseAuthorizer.unreachable(new SQLException("policy raised", "P0001")));
    assertFalse(DatabaseAuthorizer.unreachable(new SQLException("no state")));
  }

  @Test
  void anUnreachableDatabaseFailsTheCheckAndAnErroringPolicyRefuses() throws Exception {
    TopicKey vip = new TopicKey("realtime:vip", true);
    var away = new DatabaseAuthorizer(failing(new SQLException("refused", "08001")), Runnable::run);
    ExecutionException e = assertThrows(ExecutionException.class, () -> away.permissions(token, vip).get());
    assertInstanceOf(DatabaseUnavailable.class, e.getCause());
    var raising = new DatabaseAuthorizer(failing(new SQLException("policy raised", "P0001")), Runnable::run);
    assertEquals(Permissions.NONE, raising.permissions(token, vip).get());
    assertEquals(Permissions.ALL, away.permissions(token, new TopicKey("realtime:open", false)).get(),
        "public channels need no database");
  }
}
