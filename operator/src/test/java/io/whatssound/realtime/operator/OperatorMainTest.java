package io.whatssound.realtime.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whatssound.realtime.operator.model.OperatorDefaults;
import io.whatssound.realtime.operator.reconciler.Timing;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The operator's environment: what the chart sets, and bad values named. */
class OperatorMainTest {
  @Test
  void defaultsWithoutEnvironment() {
    OperatorDefaults d = OperatorMain.defaults(Map.of());
    assertEquals(OperatorDefaults.standard(), d);
    assertEquals("IfNotPresent", d.runtimeImagePullPolicy());
    assertEquals("IfNotPresent", d.poolerImagePullPolicy());
    assertEquals(Duration.ofSeconds(30), OperatorMain.timing(Map.of()).connectionPoll());
    assertEquals(Timing.standard(), OperatorMain.timing(Map.of()));
  }

  @Test
  void pullPoliciesAndThePollIntervalFromTheEnvironment() {
    OperatorDefaults d = OperatorMain.defaults(Map.of("RUNTIME_IMAGE", "r/rt:2", "RUNTIME_IMAGE_PULL_POLICY", "Always",
        "POOLER_IMAGE_PULL_POLICY", "Never"));
    assertEquals("r/rt:2", d.runtimeImage());
    assertEquals("Always", d.runtimeImagePullPolicy());
    assertEquals("Never", d.poolerImagePullPolicy());
    assertEquals(Duration.ofSeconds(5), OperatorMain.timing(Map.of("CONNECTION_POLL_SECONDS", "5")).connectionPoll());
  }

  @Test
  void aBadValueNamesItsVariable() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> OperatorMain.defaults(Map.of("POOLER_IMAGE_PULL_POLICY", "always")));
    assertTrue(e.getMessage().startsWith("POOLER_IMAGE_PULL_POLICY"), e.getMessage());
    for (String bad : new String[] {"0", "-3", "soon"}) {
      var t = assertThrows(IllegalArgumentException.class,
          () -> OperatorMain.timing(Map.of("CONNECTION_POLL_SECONDS", bad)));
      assertTrue(t.getMessage().startsWith("CONNECTION_POLL_SECONDS"), t.getMessage());
    }
  }
}
