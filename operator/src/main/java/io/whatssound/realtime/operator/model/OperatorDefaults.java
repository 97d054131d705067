package io.whatssound.realtime.operator.model;

import java.util.Set;

/**
 * Settings of the operator itself that builders need: images, their pull policies and the cluster DNS domain.
 *
 * @param runtimeImage           default runtime image of pools without an override
 * @param runtimeImagePullPolicy pull policy of runtime pods whose pool sets none
 * @param poolerImage            default PgBouncer image of clusters without an override
 * @param poolerImagePullPolicy  pull policy of the PgBouncer pods
 * @param clusterDomain          the Kubernetes cluster DNS domain ({@code cluster.local})
 */
public record OperatorDefaults(String runtimeImage, String runtimeImagePullPolicy, String poolerImage,
    String poolerImagePullPolicy, String clusterDomain) {
  public static final String RUNTIME_IMAGE = "ghcr.io/whatssound/realtime-runtime:0.1.0";
  public static final String POOLER_IMAGE = "edoburu/pgbouncer:v1.24.1-p1";
  public static final String PULL_POLICY = "IfNotPresent";
  /** The values Kubernetes accepts for {@code imagePullPolicy}. */
  public static final Set<String> PULL_POLICIES = Set.of("Always", "IfNotPresent", "Never");

  public OperatorDefaults {
    requirePullPolicy("runtime image pull policy", runtimeImagePullPolicy);
    requirePullPolicy("PgBouncer image pull policy", poolerImagePullPolicy);
  }

  /** Images as given, both pulled {@value #PULL_POLICY}. */
  public OperatorDefaults(String runtimeImage, String poolerImage, String clusterDomain) {
    this(runtimeImage, PULL_POLICY, poolerImage, PULL_POLICY, clusterDomain);
  }

  public static OperatorDefaults standard() {
    return new OperatorDefaults(RUNTIME_IMAGE, POOLER_IMAGE, "cluster.local");
  }

  private static void requirePullPolicy(String what, String value) {
    if (!PULL_POLICIES.contains(value)) {
      throw new IllegalArgumentException(what + " must be Always, IfNotPresent or Never, got '" + value + "'");
    }
  }
}
