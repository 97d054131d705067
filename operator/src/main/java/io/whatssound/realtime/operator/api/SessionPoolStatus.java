package io.whatssound.realtime.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.model.annotation.LabelSelector;
import io.fabric8.kubernetes.model.annotation.StatusReplicas;
import java.util.ArrayList;
import java.util.List;

/** What the operator observed. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SessionPoolStatus {
  private Long observedGeneration;
  @StatusReplicas
  private Integer replicas;
  private Integer readyReplicas;
  @LabelSelector
  private String selector;
  private Integer connections;
  private List<Condition> conditions = new ArrayList<>();
  private AutoscalingStatus autoscaling;

  public AutoscalingStatus getAutoscaling() { return autoscaling; }
  public void setAutoscaling(AutoscalingStatus autoscaling) { this.autoscaling = autoscaling; }

  public Long getObservedGeneration() { return observedGeneration; }
  public void setObservedGeneration(Long observedGeneration) { this.observedGeneration = observedGeneration; }
  public Integer getReplicas() { return replicas; }
  public void setReplicas(Integer replicas) { this.replicas = replicas; }
  public Integer getReadyReplicas() { return readyReplicas; }
  public void setReadyReplicas(Integer readyReplicas) { this.readyReplicas = readyReplicas; }
  public String getSelector() { return selector; }
  public void setSelector(String selector) { this.selector = selector; }
  public Integer getConnections() { return connections; }
  public void setConnections(Integer connections) { this.connections = connections; }
  public List<Condition> getConditions() { return conditions; }
  public void setConditions(List<Condition> conditions) { this.conditions = conditions; }

  /** The autoscaler's view: what it wants, why, and what it waits for. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class AutoscalingStatus {
    private Integer currentReplicas;
    private Integer desiredReplicas;
    /** what the connections alone ask for, before stabilization and step */
    private Integer recommendedReplicas;
    private String reason;
    private String message;
    private String lastScaleTime;
    /** since when more (or fewer) pods have been wanted, and the most cautious want of that time */
    private String pendingSince;
    private Integer pendingReplicas;

    public Integer getCurrentReplicas() { return currentReplicas; }
    public void setCurrentReplicas(Integer v) { this.currentReplicas = v; }
    public Integer getDesiredReplicas() { return desiredReplicas; }
    public void setDesiredReplicas(Integer v) { this.desiredReplicas = v; }
    public Integer getRecommendedReplicas() { return recommendedReplicas; }
    public void setRecommendedReplicas(Integer v) { this.recommendedReplicas = v; }
    public String getReason() { return reason; }
    public void setReason(String reason) { this.reason = reason; }
    public String getMessage() { return message; }
    public void setMessage(String message) { this.message = message; }
    public String getLastScaleTime() { return lastScaleTime; }
    public void setLastScaleTime(String v) { this.lastScaleTime = v; }
    public String getPendingSince() { return pendingSince; }
    public void setPendingSince(String v) { this.pendingSince = v; }
    public Integer getPendingReplicas() { return pendingReplicas; }
    public void setPendingReplicas(Integer v) { this.pendingReplicas = v; }
  }
}
