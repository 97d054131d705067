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
}
