package io.whatssound.realtime.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraint;
import io.fabric8.kubernetes.model.annotation.SpecReplicas;
import java.util.List;
import java.util.Map;

/** A scaled set of runtime pods. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SessionPoolSpec {
  /** the RealtimeCluster this pool serves (same namespace; immutable: its pods' labels and selector name it) */
  @Required
  @ValidationRule(value = "self == oldSelf", message = "clusterRef is immutable: create a new SessionPool for another cluster")
  private ClusterRef clusterRef;
  @SpecReplicas
  @Default("2")
  @Min(0)
  private int replicas = 2;
  /** runtime image override */
  private String image;
  /** overrides the operator's runtime image pull policy (the chart's images.runtime.pullPolicy) */
  @Pattern("^(Always|IfNotPresent|Never)$")
  private String imagePullPolicy;
  private ResourceRequirements resources;
  /** JVM heap share of the container memory (MaxRAMPercentage) */
  @Default("70")
  @Min(10)
  @Max(90)
  private int heapPercent = 70;
  /** overrides the cluster's maxConcurrentUsers per pod */
  @Min(1)
  private Integer maxConnectionsPerPod;
  /** how long a stopping pod waits for clients to go */
  @Default("10")
  @Min(0)
  @Max(600)
  private int shutdownDrainSeconds = 10;
  /** where pods run */
  private Placement placement = new Placement();
  private Disruption disruptionBudget = new Disruption();
  /** the operator sets replicas from the pods' connections (unset: replicas is yours, or an HPA's) */
  private Autoscaling autoscaling;

  public Autoscaling getAutoscaling() { return autoscaling; }
  public void setAutoscaling(Autoscaling autoscaling) { this.autoscaling = autoscaling; }
  public ClusterRef getClusterRef() { return clusterRef; }
  public void setClusterRef(ClusterRef clusterRef) { this.clusterRef = clusterRef; }
  public int getReplicas() { return replicas; }
  public void setReplicas(int replicas) { this.replicas = replicas; }
  public String getImage() { return image; }
  public void setImage(String image) { this.image = image; }
  public String getImagePullPolicy() { return imagePullPolicy; }
  public void setImagePullPolicy(String imagePullPolicy) { this.imagePullPolicy = imagePullPolicy; }
  public ResourceRequirements getResources() { return resources; }
  public void setResources(ResourceRequirements resources) { this.resources = resources; }
  public int getHeapPercent() { return heapPercent; }
  public void setHeapPercent(int heapPercent) { this.heapPercent = heapPercent; }
  public Integer getMaxConnectionsPerPod() { return maxConnectionsPerPod; }
  public void setMaxConnectionsPerPod(Integer maxConnectionsPerPod) { this.maxConnectionsPerPod = maxConnectionsPerPod; }
  public int getShutdownDrainSeconds() { return shutdownDrainSeconds; }
  public void setShutdownDrainSeconds(int shutdownDrainSeconds) { this.shutdownDrainSeconds = shutdownDrainSeconds; }
  public Placement getPlacement() { return placement; }
  public void setPlacement(Placement placement) { this.placement = placement; }
  public Disruption getDisruptionBudget() { return disruptionBudget; }
  public void setDisruptionBudget(Disruption disruptionBudget) { this.disruptionBudget = disruptionBudget; }

  /** Connection-aware autoscaling, done by the operator through the scale subresource. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @ValidationRule(value = "self.minReplicas <= self.maxReplicas", message = "autoscaling.minReplicas must not exceed maxReplicas")
  public static class Autoscaling {
    @Default("1")
    @Min(1)
    private int minReplicas = 1;
    @Required
    @Min(1)
    private int maxReplicas;
    /** sockets per pod the pool is sized for: replicas = ceil(connections / target) */
    @Required
    @Min(1)
    private int targetConnectionsPerPod;
    /** how long more pods must be wanted before they are added (the smallest want of that time is taken) */
    @Default("15")
    @Min(0)
    @Max(3600)
    private int scaleUpStabilizationSeconds = 15;
    /** how long fewer pods must be enough before pods go (the largest want of that time is taken) */
    @Default("300")
    @Min(0)
    @Max(86400)
    private int scaleDownStabilizationSeconds = 300;
    /** the most pods added or removed by one decision */
    @Default("4")
    @Min(1)
    @Max(100)
    private int maxStep = 4;
    /** the most reconnects per second the operator causes: by rebalancing, and by the drains of a step down */
    @Default("20")
    @Min(1)
    @Max(10000)
    private int maxReconnectsPerSecond = 20;

    public int getMaxReconnectsPerSecond() { return maxReconnectsPerSecond; }
    public void setMaxReconnectsPerSecond(int v) { this.maxReconnectsPerSecond = v; }

    public int getMinReplicas() { return minReplicas; }
    public void setMinReplicas(int minReplicas) { this.minReplicas = minReplicas; }
    public int getMaxReplicas() { return maxReplicas; }
    public void setMaxReplicas(int maxReplicas) { this.maxReplicas = maxReplicas; }
    public int getTargetConnectionsPerPod() { return targetConnectionsPerPod; }
    public void setTargetConnectionsPerPod(int targetConnectionsPerPod) { this.targetConnectionsPerPod = targetConnectionsPerPod; }
    public int getScaleUpStabilizationSeconds() { return scaleUpStabilizationSeconds; }
    public void setScaleUpStabilizationSeconds(int s) { this.scaleUpStabilizationSeconds = s; }
    public int getScaleDownStabilizationSeconds() { return scaleDownStabilizationSeconds; }
    public void setScaleDownStabilizationSeconds(int s) { this.scaleDownStabilizationSeconds = s; }
    public int getMaxStep() { return maxStep; }
    public void setMaxStep(int maxStep) { this.maxStep = maxStep; }
  }

  /** The RealtimeCluster a pool serves. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class ClusterRef {
    @Required
    private String name;

    public String getName() { return name; }
    public void setName(String name) { this.name = name; }
  }

  /** Pod placement. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Placement {
    private Map<String, String> nodeSelector;
    private List<Toleration> tolerations;
    /** replaces the default spread across nodes */
    private List<TopologySpreadConstraint> topologySpreadConstraints;
    private String priorityClassName;
    private Map<String, String> podAnnotations;
    private Map<String, String> podLabels;

    public Map<String, String> getNodeSelector() { return nodeSelector; }
    public void setNodeSelector(Map<String, String> nodeSelector) { this.nodeSelector = nodeSelector; }
    public List<Toleration> getTolerations() { return tolerations; }
    public void setTolerations(List<Toleration> tolerations) { this.tolerations = tolerations; }
    public List<TopologySpreadConstraint> getTopologySpreadConstraints() { return topologySpreadConstraints; }
    public void setTopologySpreadConstraints(List<TopologySpreadConstraint> topologySpreadConstraints) { this.topologySpreadConstraints = topologySpreadConstraints; }
    public String getPriorityClassName() { return priorityClassName; }
    public void setPriorityClassName(String priorityClassName) { this.priorityClassName = priorityClassName; }
    public Map<String, String> getPodAnnotations() { return podAnnotations; }
    public void setPodAnnotations(Map<String, String> podAnnotations) { this.podAnnotations = podAnnotations; }
    public Map<String, String> getPodLabels() { return podLabels; }
    public void setPodLabels(Map<String, String> podLabels) { this.podLabels = podLabels; }
  }

  /** The PodDisruptionBudget. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Disruption {
    @Default("true")
    private boolean enabled = true;
    @Default("1")
    @Min(1)
    private int maxUnavailable = 1;

    public boolean getEnabled() { return enabled; }
    public void setEnabled(boolean enabled) { this.enabled = enabled; }
    public int getMaxUnavailable() { return maxUnavailable; }
    public void setMaxUnavailable(int maxUnavailable) { this.maxUnavailable = maxUnavailable; }
  }
}
