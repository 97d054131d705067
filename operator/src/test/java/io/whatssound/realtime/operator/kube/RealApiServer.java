package io.whatssound.realtime.operator.kube;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A test class that runs against the real control plane ({@link ControlPlane#shared()}). Skipped, with a one-line
 * reason Surefire reports, where {@code e2e/build.sh} has not built the binaries.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(RealApiServer.WhenBuilt.class)
public @interface RealApiServer {
  /** Enabled only when every binary of the pinned version is in the cache folder. */
  final class WhenBuilt implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
      String missing = ControlPlane.missing();
      return missing == null ? ConditionEvaluationResult.enabled("Kubernetes " + ControlPlane.version() + " binaries built")
          : ConditionEvaluationResult.disabled("real API server tests skipped: " + missing);
    }
  }
}
