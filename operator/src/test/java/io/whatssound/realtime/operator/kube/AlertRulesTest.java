package io.whatssound.realtime.operator.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart's alert rules (helm/realtime-operator/files/alerts.yaml) under Prometheus's own checker and their unit
 * tests (alerts-test.yaml), with the promtool that e2e/build.sh builds from Prometheus's Go module.
 */
class AlertRulesTest {
  static final Path FILES = ControlPlane.repoRoot().resolve("helm/realtime-operator/files");

  record Run(int exit, String out) {}

  static Run promtool(Path dir, String... args) throws IOException, InterruptedException {
    Path promtool = ControlPlane.binDir().resolve("promtool");
    assertTrue(Files.isExecutable(promtool), "no promtool in " + ControlPlane.binDir() + ": run e2e/build.sh");
    List<String> cmd = new ArrayList<>(List.of(promtool.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "promtool did not finish");
    return new Run(p.exitValue(), out);
  }

  @Test
  void theRulesAreValidAndPassTheirUnitTests() throws Exception {
    Run check = promtool(FILES, "check", "rules", "alerts.yaml");
    assertEquals(0, check.exit(), check.out());
    Run test = promtool(FILES, "test", "rules", "alerts-test.yaml");
    assertEquals(0, test.exit(), test.out());
    assertTrue(test.out().contains("SUCCESS"), test.out());
  }

  @Test
  void aWrongExpectationFails(@TempDir Path dir) throws Exception {
    Files.copy(FILES.resolve("alerts.yaml"), dir.resolve("alerts.yaml"));
    Files.writeString(dir.resolve("alerts-test.yaml"), Files.readString(FILES.resolve("alerts-test.yaml"))
        .replace("uses 95% of", "uses 96% of"));
    Run test = promtool(dir, "test", "rules", "alerts-test.yaml");
    assertNotEquals(0, test.exit(), "the unit tests can fail: " + test.out());
    assertTrue(test.out().contains("RealtimeTenantNearUserLimit"), test.out());
  }
}
