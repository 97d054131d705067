package io.whatssound.realtime.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.List;

/** What the operator observed. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RealtimeClusterStatus {
  private Long observedGeneration;
  private List<Condition> conditions = new ArrayList<>();
  private Endpoints endpoints;
  private Replication replication;
  private PartitionsStatus partitions;
  /** sockets open on all pools (when the pools report it) */
  private Integer connections;
  private String runtimeRole;
  /** settings last applied to the database */
  private String contractHash;

  public Long getObservedGeneration() { return observedGeneration; }
  public void setObservedGeneration(Long observedGeneration) { this.observedGeneration = observedGeneration; }
  public List<Condition> getConditions() { return conditions; }
  public void setConditions(List<Condition> conditions) { this.conditions = conditions; }
  public Endpoints getEndpoints() { return endpoints; }
  public void setEndpoints(Endpoints endpoints) { this.endpoints = endpoints; }
  public Replication getReplication() { return replication; }
  public void setReplication(Replication replication) { this.replication = replication; }
  public PartitionsStatus getPartitions() { return partitions; }
  public void setPartitions(PartitionsStatus partitions) { this.partitions = partitions; }
  public Integer getConnections() { return connections; }
  public void setConnections(Integer connections) { this.connections = connections; }
  public String getRuntimeRole() { return runtimeRole; }
  public void setRuntimeRole(String runtimeRole) { this.runtimeRole = runtimeRole; }
  public String getContractHash() { return contractHash; }
  public void setContractHash(String contractHash) { this.contractHash = contractHash; }

  /** Where clients connect. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Endpoints {
    private String websocket;
    private String rest;
    private String pooler;

    public String getWebsocket() { return websocket; }
    public void setWebsocket(String websocket) { this.websocket = websocket; }
    public String getRest() { return rest; }
    public void setRest(String rest) { this.rest = rest; }
    public String getPooler() { return pooler; }
    public void setPooler(String pooler) { this.pooler = pooler; }
  }

  /** The slot as PostgreSQL reports it. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Replication {
    private String slot;
    private Boolean active;
    private Long lagBytes;
    /** WAL the server keeps for the slot: written since its restart_lsn */
    private Long retainedBytes;
    private String walStatus;

    public String getSlot() { return slot; }
    public void setSlot(String slot) { this.slot = slot; }
    public Boolean getActive() { return active; }
    public void setActive(Boolean active) { this.active = active; }
    public Long getRetainedBytes() { return retainedBytes; }
    public void setRetainedBytes(Long retainedBytes) { this.retainedBytes = retainedBytes; }
    public Long getLagBytes() { return lagBytes; }
    public void setLagBytes(Long lagBytes) { this.lagBytes = lagBytes; }
    public String getWalStatus() { return walStatus; }
    public void setWalStatus(String walStatus) { this.walStatus = walStatus; }
  }

  /** Partitions of realtime.messages. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class PartitionsStatus {
    private String oldest;
    private String newest;
    private Integer count;
    private String nextMaintenance;
    /** each table of spec.partitions.tables */
    private List<TableStatus> tables;
    /** the declaration of those tables last maintained */
    private String tablesHash;

    public String getTablesHash() { return tablesHash; }
    public void setTablesHash(String tablesHash) { this.tablesHash = tablesHash; }
    public List<TableStatus> getTables() { return tables; }
    public void setTables(List<TableStatus> tables) { this.tables = tables; }
    public String getOldest() { return oldest; }
    public void setOldest(String oldest) { this.oldest = oldest; }
    public String getNewest() { return newest; }
    public void setNewest(String newest) { this.newest = newest; }
    public Integer getCount() { return count; }
    public void setCount(Integer count) { this.count = count; }
    public String getNextMaintenance() { return nextMaintenance; }
    public void setNextMaintenance(String nextMaintenance) { this.nextMaintenance = nextMaintenance; }
  }

  /** The partitions of one application table. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class TableStatus {
    private String table;
    private Boolean ready;
    private String reason;
    private String message;
    private String oldest;
    private String newest;
    private Integer count;

    public String getTable() { return table; }
    public void setTable(String table) { this.table = table; }
    public Boolean getReady() { return ready; }
    public void setReady(Boolean ready) { this.ready = ready; }
    public String getReason() { return reason; }
    public void setReason(String reason) { this.reason = reason; }
    public String getMessage() { return message; }
    public void setMessage(String message) { this.message = message; }
    public String getOldest() { return oldest; }
    public void setOldest(String oldest) { this.oldest = oldest; }
    public String getNewest() { return newest; }
    public void setNewest(String newest) { this.newest = newest; }
    public Integer getCount() { return count; }
    public void setCount(Integer count) { this.count = count; }
  }
}
