package io.whatssound.realtime.operator.model;

/**
 * Settings of the operator itself that builders need: images and the cluster DNS domain.
 *
 * @param runtimeImage default runtime image of pools without an override
 * @param poolerImage  default PgBouncer image of clusters without an override
 * @param clusterDomain the Kubernetes cluster DNS domain ({@code cluster.local})
 */
public record OperatorDefaults(String runtimeImage, String poolerImage, String clusterDomain) {
  public static final String RUNTIME_IMAGE = "ghcr.io/whatssound/realtime-runtime:0.1.0";
  public static final String POOLER_IMAGE = "edoburu/pgbouncer:v1.24.1-p1";

  public static OperatorDefaults standard() {
    return new OperatorDefaults(RUNTIME_IMAGE, POOLER_IMAGE, "cluster.local");
  }
}
