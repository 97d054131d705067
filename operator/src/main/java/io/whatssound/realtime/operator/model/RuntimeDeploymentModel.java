package io.whatssound.realtime.operator.model;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerPortBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.whatssound.realtime.operator.api.SessionPool;
import io.whatssound.realtime.operator.api.SessionPoolSpec;
import io.whatssound.realtime.postgres.RuntimeEnv;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The runtime Deployment of one pool. Its pods take the cluster's configuration Secret as environment, add the
 * pool's own settings, and carry the configuration hash so any change rolls them.
 */
public final class RuntimeDeploymentModel {
  /** Seconds the preStop hook waits so endpoints drop the pod before the runtime starts draining. */
  public static final int PRE_STOP_SECONDS = 5;
  /** Extra seconds after the drain for the process to exit. */
  public static final int EXIT_MARGIN_SECONDS = 10;
  public static final long RUN_AS_USER = 10001L;

  private RuntimeDeploymentModel() {}

  /**
   * @param pool       the pool
   * @param configHash hash of the cluster's runtime configuration Secret data
   * @param defaults   operator defaults (image and its pull policy)
   */
  public static Deployment build(SessionPool pool, String configHash, OperatorDefaults defaults) {
    SessionPoolSpec s = pool.getSpec();
    String cluster = s.getClusterRef().getName();
    SessionPoolSpec.Placement placement = s.getPlacement() == null ? new SessionPoolSpec.Placement() : s.getPlacement();
    List<EnvVar> env = new ArrayList<>();
    env.add(new EnvVar("JAVA_TOOL_OPTIONS",
        "-XX:MaxRAMPercentage=" + s.getHeapPercent() + ".0 -XX:+ExitOnOutOfMemoryError", null));
    env.add(new EnvVar(RuntimeEnv.REALTIME_SHUTDOWN_DRAIN_MS, String.valueOf(s.getShutdownDrainSeconds() * 1000L), null));
    if (s.getMaxConnectionsPerPod() != null) {
      env.add(new EnvVar(RuntimeEnv.REALTIME_MAX_CONCURRENT_USERS, String.valueOf(s.getMaxConnectionsPerPod()), null));
    }
    env.add(new EnvVarBuilder().withName("POD_NAME").withNewValueFrom().withNewFieldRef()
        .withFieldPath("metadata.name").endFieldRef().endValueFrom().build());
    env.add(new EnvVarBuilder().withName("POD_IP").withNewValueFrom().withNewFieldRef()
        .withFieldPath("status.podIP").endFieldRef().endValueFrom().build());

    int grace = PRE_STOP_SECONDS + s.getShutdownDrainSeconds() + EXIT_MARGIN_SECONDS;
    Deployment d = new DeploymentBuilder()
        .withMetadata(Names.poolObject(pool))
        .withNewSpec()
        .withReplicas(s.getReplicas())
        .withNewSelector().withMatchLabels(Names.poolSelector(pool)).endSelector()
        .withNewStrategy()
        .withType("RollingUpdate")
        .withNewRollingUpdate().withMaxSurge(new IntOrString("25%")).withMaxUnavailable(new IntOrString(0)).endRollingUpdate()
        .endStrategy()
        .withNewTemplate()
        .withNewSpec()
        .withTerminationGracePeriodSeconds((long) grace)
        .withEnableServiceLinks(false)
        .withNewSecurityContext()
        .withRunAsNonRoot(true)
        .withRunAsUser(RUN_AS_USER)
        .withRunAsGroup(RUN_AS_USER)
        .withFsGroup(RUN_AS_USER)
        .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
        .endSecurityContext()
        .withContainers(new ContainerBuilder()
            .withName("runtime")
            .withImage(s.getImage() != null ? s.getImage() : defaults.runtimeImage())
            .withImagePullPolicy(s.getImagePullPolicy() != null ? s.getImagePullPolicy() : defaults.runtimeImagePullPolicy())
            .withPorts(
                new ContainerPortBuilder().withName("http").withContainerPort(Names.HTTP_PORT).withProtocol("TCP").build(),
                new ContainerPortBuilder().withName("metrics").withContainerPort(Names.METRICS_PORT).withProtocol("TCP")
                    .build(),
                new ContainerPortBuilder().withName("cluster").withContainerPort(Names.CLUSTER_PORT).withProtocol("TCP").build())
            .addNewEnvFrom().withNewSecretRef().withName(Names.runtimeConfigSecret(cluster)).endSecretRef().endEnvFrom()
            .withEnv(env)
            .withResources(resources(s.getResources()))
            .withReadinessProbe(probe("/readyz", 0, 5, 2))
            .withLivenessProbe(probe("/healthz", 20, 10, 3))
            // the kubelet's own sleep (Kubernetes 1.30+): the image needs no shell
            .withNewLifecycle().withNewPreStop().withNewSleep().withSeconds((long) PRE_STOP_SECONDS)
            .endSleep().endPreStop().endLifecycle()
            .withNewSecurityContext()
            .withAllowPrivilegeEscalation(false)
            .withReadOnlyRootFilesystem(true)
            .withNewCapabilities().withDrop("ALL").endCapabilities()
            .endSecurityContext()
            .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount()
            .build())
        .addNewVolume().withName("tmp").withNewEmptyDir().endEmptyDir().endVolume()
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
    d.getSpec().setTemplate(Placements.apply(d.getSpec().getTemplate(), placement, Names.poolLabels(pool),
        Map.of(Names.CONFIG_HASH, configHash), Names.poolSelector(pool)));
    return d;
  }

  static ResourceRequirements resources(ResourceRequirements given) {
    if (given != null) {
      return given;
    }
    return new ResourceRequirementsBuilder()
        .addToRequests("cpu", new Quantity("500m"))
        .addToRequests("memory", new Quantity("1Gi"))
        .addToLimits("memory", new Quantity("1Gi"))
        .build();
  }

  private static Probe probe(String path, int initialDelay, int period, int failures) {
    return new ProbeBuilder()
        .withNewHttpGet().withPath(path).withPort(new IntOrString("http")).endHttpGet()
        .withInitialDelaySeconds(initialDelay)
        .withPeriodSeconds(period)
        .withFailureThreshold(failures)
        .withTimeoutSeconds(2)
        .build();
  }
}
