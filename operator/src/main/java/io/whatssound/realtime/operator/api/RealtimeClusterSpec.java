package io.whatssound.realtime.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import java.util.List;
import java.util.Map;

/** The desired state of one tenant. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "(has(oldSelf.cdc) && has(oldSelf.cdc.slot)) == (has(self.cdc) && has(self.cdc.slot))",
    message = "cdc.slot is immutable: set it when creating the cluster, or leave it to the default")
@ValidationRule(value = "!has(self.history) || !has(self.history.retentionHours) || self.history.retentionHours <= "
    + "(has(self.partitions) && has(self.partitions.retentionHours) ? self.partitions.retentionHours : 72)",
    message = "history.retentionHours must not exceed partitions.retentionHours: older messages are dropped with "
        + "their partitions")
public class RealtimeClusterSpec {
  /** the tenant's PostgreSQL database */
  @Required
  private Database database;
  /** how clients' JWTs are verified */
  @Required
  private Auth auth;
  /** change data capture: publication and slot */
  private Cdc cdc = new Cdc();
  /** daily partitions of realtime.messages */
  private Partitions partitions = new Partitions();

  private History history;
  /** the PgBouncer pooler in front of the database */
  private Pooler pooler = new Pooler();
  /** the runtime's tenant limits */
  private Limits limits = new Limits();
  /** the client Service every pool's ready pods sit behind */
  private ClientService service = new ClientService();
  /** only private channels may be joined */
  @Default("false")
  private boolean privateOnly;
  /** on deletion: Retain leaves slot, publications and runtime role in the database; Delete drops them (never user tables) */
  @Default("Retain")
  @Pattern("^(Retain|Delete)$")
  private String reclaimPolicy = "Retain";

  public Database getDatabase() { return database; }
  public void setDatabase(Database database) { this.database = database; }
  public Auth getAuth() { return auth; }
  public void setAuth(Auth auth) { this.auth = auth; }
  public Cdc getCdc() { return cdc; }
  public void setCdc(Cdc cdc) { this.cdc = cdc; }
  public History getHistory() { return history; }
  public void setHistory(History history) { this.history = history; }
  public Partitions getPartitions() { return partitions; }
  public void setPartitions(Partitions partitions) { this.partitions = partitions; }
  public Pooler getPooler() { return pooler; }
  public void setPooler(Pooler pooler) { this.pooler = pooler; }
  public Limits getLimits() { return limits; }
  public void setLimits(Limits limits) { this.limits = limits; }
  public ClientService getService() { return service; }
  public void setService(ClientService service) { this.service = service; }
  public boolean getPrivateOnly() { return privateOnly; }
  public void setPrivateOnly(boolean privateOnly) { this.privateOnly = privateOnly; }
  public String getReclaimPolicy() { return reclaimPolicy; }
  public void setReclaimPolicy(String reclaimPolicy) { this.reclaimPolicy = reclaimPolicy; }

  /** Where the tenant's database is and who owns it. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @ValidationRule(value = "has(self.runtimeRole) == has(oldSelf.runtimeRole)",
      message = "database.runtimeRole is immutable: set it when creating the cluster, or leave it to the default")
  public static class Database {
    /** host name or address of the PostgreSQL server */
    @Required
    @Pattern("^[A-Za-z0-9.:-]+$")
    private String host;
    @Default("5432")
    @Min(1)
    @Max(65535)
    private int port = 5432;
    /** database name (immutable) */
    @Required
    @Pattern("^[a-z_][a-z0-9_]{0,62}$")
    @ValidationRule(value = "self == oldSelf", message = "database.name is immutable: create a new RealtimeCluster for another database")
    private String name;
    /** libpq sslmode the runtime and the pooler use */
    @Default("require")
    @Pattern("^(disable|allow|prefer|require|verify-ca|verify-full)$")
    private String sslMode = "require";
    /** Secret with the owner's username and password (used to provision) */
    @Required
    private SecretKeys credentialsSecret;
    /** the runtime's least-privilege role (immutable); default realtime_<namespace>_<name>_<hash> */
    @Pattern("^[a-z_][a-z0-9_]{0,62}$")
    @ValidationRule(value = "self == oldSelf", message = "database.runtimeRole is immutable")
    private String runtimeRole;
    /**
     * Secret with the PEM CA certificate(s) that signed the database server's certificate: the operator, the runtime
     * and PgBouncer verify the server against it (use with sslMode verify-ca or verify-full)
     */
    private CaSecret caSecret;

    public String getHost() { return host; }
    public void setHost(String host) { this.host = host; }
    public int getPort() { return port; }
    public void setPort(int port) { this.port = port; }
    public String getName() { return name; }
    public void setName(String name) { this.name = name; }
    public String getSslMode() { return sslMode; }
    public void setSslMode(String sslMode) { this.sslMode = sslMode; }
    public CaSecret getCaSecret() { return caSecret; }
    public void setCaSecret(CaSecret caSecret) { this.caSecret = caSecret; }
    public SecretKeys getCredentialsSecret() { return credentialsSecret; }
    public void setCredentialsSecret(SecretKeys credentialsSecret) { this.credentialsSecret = credentialsSecret; }
    public String getRuntimeRole() { return runtimeRole; }
    public void setRuntimeRole(String runtimeRole) { this.runtimeRole = runtimeRole; }
  }

  /** A Secret holding a username and a password. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class SecretKeys {
    /** Secret name in the cluster's namespace */
    @Required
    private String name;
    @Default("username")
    private String usernameKey = "username";
    @Default("password")
    private String passwordKey = "password";

    public String getName() { return name; }
    public void setName(String name) { this.name = name; }
    public String getUsernameKey() { return usernameKey; }
    public void setUsernameKey(String usernameKey) { this.usernameKey = usernameKey; }
    public String getPasswordKey() { return passwordKey; }
    public void setPasswordKey(String passwordKey) { this.passwordKey = passwordKey; }
  }

  /** How clients' JWTs are verified. */
  @ValidationRule(value = "has(self.jwtSecret) || has(self.jwksUrl)", message = "set auth.jwtSecret, auth.jwksUrl or both")
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Auth {
    /** Secret key holding the HS256 secret (at least 32 characters) */
    private SecretKeyRef jwtSecret;
    /** a JWKS URL for RS256/ES256 tokens */
    @Pattern("^https?://.+")
    private String jwksUrl;

    public SecretKeyRef getJwtSecret() { return jwtSecret; }
    public void setJwtSecret(SecretKeyRef jwtSecret) { this.jwtSecret = jwtSecret; }
    public String getJwksUrl() { return jwksUrl; }
    public void setJwksUrl(String jwksUrl) { this.jwksUrl = jwksUrl; }
  }

  /** One key of a Secret. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  /** A Secret key holding PEM CA certificates. */
  public static class CaSecret {
    @Required
    private String name;
    @Default("ca.crt")
    private String key = "ca.crt";

    public String getName() { return name; }
    public void setName(String name) { this.name = name; }
    public String getKey() { return key; }
    public void setKey(String key) { this.key = key; }
  }

  public static class SecretKeyRef {
    @Required
    private String name;
    @Default("jwt-secret")
    private String key = "jwt-secret";

    public String getName() { return name; }
    public void setName(String name) { this.name = name; }
    public String getKey() { return key; }
    public void setKey(String key) { this.key = key; }
  }

  /** Change data capture. */
  @ValidationRule(value = "!(has(self.allTables) && self.allTables && has(self.tables))", message = "choose cdc.allTables or cdc.tables, not both")
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Cdc {
    @Default("supabase_realtime")
    @Pattern("^[a-z_][a-z0-9_]{0,62}$")
    @ValidationRule(value = "self == oldSelf", message = "cdc.publication is immutable: the runtime streams it and "
        + "your tables are in it")
    private String publication = "supabase_realtime";
    /** exact schema.table list of the publication; unset means users manage its tables */
    private List<String> tables;
    /** publish every table */
    @Default("false")
    private boolean allTables;
    /** logical replication slot (immutable); default realtime_<namespace>_<name>_<hash> (slots are server-wide) */
    @Pattern("^[a-z_][a-z0-9_]{0,62}$")
    @ValidationRule(value = "self == oldSelf", message = "cdc.slot is immutable")
    private String slot;
    /** a lag above this raises ReplicationReady=False */
    @Default("1073741824")
    @Min(1)
    private long maxLagBytes = 1073741824L;

    public String getPublication() { return publication; }
    public void setPublication(String publication) { this.publication = publication; }
    public List<String> getTables() { return tables; }
    public void setTables(List<String> tables) { this.tables = tables; }
    public boolean getAllTables() { return allTables; }
    public void setAllTables(boolean allTables) { this.allTables = allTables; }
    public String getSlot() { return slot; }
    public void setSlot(String slot) { this.slot = slot; }
    public long getMaxLagBytes() { return maxLagBytes; }
    public void setMaxLagBytes(long maxLagBytes) { this.maxLagBytes = maxLagBytes; }
  }

  /** Broadcast history, replay on reconnect and latest values (the runtime's REALTIME_HISTORY_* settings). */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class History {
    /** globs over topic names without "realtime:" whose broadcasts are stored and may be replayed, e.g. "party:*"; "*" matches any run of characters, ":" included (the runtime reads them comma-separated) */
    private List<String> topics;
    /** how far back a replay reaches; at most partitions.retentionHours, which drops the rows */
    @Default("72")
    @Min(1)
    @Max(8760)
    private int retentionHours = 72;
    /** at most one batched INSERT of history per interval per pod */
    @Default("500")
    @Min(10)
    @Max(60000)
    private int batchIntervalMs = 500;
    /** the most messages one replay sends */
    @Default("1000")
    @Min(1)
    @Max(100000)
    private int replayMax = 1000;
    /** events whose newest message every joiner of a topic receives, e.g. "playback:sync" (comma-separated for the runtime) */
    private List<String> latestEvents;

    public List<String> getTopics() { return topics; }
    public void setTopics(List<String> topics) { this.topics = topics; }
    public int getRetentionHours() { return retentionHours; }
    public void setRetentionHours(int retentionHours) { this.retentionHours = retentionHours; }
    public int getBatchIntervalMs() { return batchIntervalMs; }
    public void setBatchIntervalMs(int batchIntervalMs) { this.batchIntervalMs = batchIntervalMs; }
    public int getReplayMax() { return replayMax; }
    public void setReplayMax(int replayMax) { this.replayMax = replayMax; }
    public List<String> getLatestEvents() { return latestEvents; }
    public void setLatestEvents(List<String> latestEvents) { this.latestEvents = latestEvents; }
  }

  /** Daily partitions of realtime.messages. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Partitions {
    @Default("3")
    @Min(0)
    @Max(60)
    private int premakeDays = 3;
    @Default("72")
    @Min(1)
    private int retentionHours = 72;
    /** the application's own tables, created PARTITION BY RANGE on a time column, whose partitions the operator keeps rolling (a table listed twice is maintained by its first entry) */
    private List<AppTable> tables;

    public int getPremakeDays() { return premakeDays; }
    public void setPremakeDays(int premakeDays) { this.premakeDays = premakeDays; }
    public int getRetentionHours() { return retentionHours; }
    public void setRetentionHours(int retentionHours) { this.retentionHours = retentionHours; }
    public List<AppTable> getTables() { return tables; }
    public void setTables(List<AppTable> tables) { this.tables = tables; }
  }

  /** One application table partitioned by the operator. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class AppTable {
    /** schema.table or table (public) */
    @Required
    @Pattern("^([a-z_][a-z0-9_]{0,62}\\.)?[a-z_][a-z0-9_]{0,50}$")
    private String table;
    /** the table's range key: a timestamptz, timestamp or date column */
    @Required
    @Pattern("^[a-z_][a-z0-9_]{0,62}$")
    private String column;
    @Default("monthly")
    @Pattern("^(daily|monthly)$")
    private String interval = "monthly";
    /** partitions made ahead of the current one */
    @Default("2")
    @Min(0)
    @Max(90)
    private int premake = 2;
    /** whole intervals kept before the current one; older partitions are detached and dropped (unset: kept forever) */
    @Min(1)
    private Integer retention;

    public String getTable() { return table; }
    public void setTable(String table) { this.table = table; }
    public String getColumn() { return column; }
    public void setColumn(String column) { this.column = column; }
    public String getInterval() { return interval; }
    public void setInterval(String interval) { this.interval = interval; }
    public int getPremake() { return premake; }
    public void setPremake(int premake) { this.premake = premake; }
    public Integer getRetention() { return retention; }
    public void setRetention(Integer retention) { this.retention = retention; }
  }

  /** The PgBouncer pooler. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Pooler {
    @Default("true")
    private boolean enabled = true;
    @Default("2")
    @Min(1)
    @Max(20)
    private int instances = 2;
    @Default("transaction")
    @Pattern("^(session|transaction|statement)$")
    private String poolMode = "transaction";
    /** AuthQuery looks passwords up through a SECURITY DEFINER function (needs a superuser owner); Userlist renders the runtime role only */
    @Default("AuthQuery")
    @Pattern("^(AuthQuery|Userlist)$")
    private String authMode = "AuthQuery";
    /** PgBouncer parameters from the allow-list */
    private Map<String, String> parameters;
    /** PgBouncer image override */
    private String image;
    /** the PgBouncer container's requests and limits (default: 100m CPU and 64Mi requested, 256Mi limit) */
    private ResourceRequirements resources;
    /** where PgBouncer pods run, as for a SessionPool */
    private SessionPoolSpec.Placement placement;

    public boolean getEnabled() { return enabled; }
    public void setEnabled(boolean enabled) { this.enabled = enabled; }
    public int getInstances() { return instances; }
    public void setInstances(int instances) { this.instances = instances; }
    public String getPoolMode() { return poolMode; }
    public void setPoolMode(String poolMode) { this.poolMode = poolMode; }
    public String getAuthMode() { return authMode; }
    public void setAuthMode(String authMode) { this.authMode = authMode; }
    public Map<String, String> getParameters() { return parameters; }
    public void setParameters(Map<String, String> parameters) { this.parameters = parameters; }
    public String getImage() { return image; }
    public void setImage(String image) { this.image = image; }
    public ResourceRequirements getResources() { return resources; }
    public void setResources(ResourceRequirements resources) { this.resources = resources; }
    public SessionPoolSpec.Placement getPlacement() { return placement; }
    public void setPlacement(SessionPoolSpec.Placement placement) { this.placement = placement; }
  }

  /** The runtime's tenant limits (README's defaults when unset). */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Limits {
    @Min(1)
    private Integer maxConcurrentUsers;
    @Min(1)
    private Integer maxEventsPerSecond;
    @Min(1)
    private Integer maxJoinsPerSecond;
    @Min(1)
    private Integer maxChannelsPerClient;
    @Min(1)
    private Integer maxPayloadKb;
    @Min(1)
    private Integer maxPresenceCalls;
    @Min(1)
    private Integer presenceWindowSeconds;

    public Integer getMaxConcurrentUsers() { return maxConcurrentUsers; }
    public void setMaxConcurrentUsers(Integer maxConcurrentUsers) { this.maxConcurrentUsers = maxConcurrentUsers; }
    public Integer getMaxEventsPerSecond() { return maxEventsPerSecond; }
    public void setMaxEventsPerSecond(Integer maxEventsPerSecond) { this.maxEventsPerSecond = maxEventsPerSecond; }
    public Integer getMaxJoinsPerSecond() { return maxJoinsPerSecond; }
    public void setMaxJoinsPerSecond(Integer maxJoinsPerSecond) { this.maxJoinsPerSecond = maxJoinsPerSecond; }
    public Integer getMaxChannelsPerClient() { return maxChannelsPerClient; }
    public void setMaxChannelsPerClient(Integer maxChannelsPerClient) { this.maxChannelsPerClient = maxChannelsPerClient; }
    public Integer getMaxPayloadKb() { return maxPayloadKb; }
    public void setMaxPayloadKb(Integer maxPayloadKb) { this.maxPayloadKb = maxPayloadKb; }
    public Integer getMaxPresenceCalls() { return maxPresenceCalls; }
    public void setMaxPresenceCalls(Integer maxPresenceCalls) { this.maxPresenceCalls = maxPresenceCalls; }
    public Integer getPresenceWindowSeconds() { return presenceWindowSeconds; }
    public void setPresenceWindowSeconds(Integer presenceWindowSeconds) { this.presenceWindowSeconds = presenceWindowSeconds; }
  }

  /** The client Service. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class ClientService {
    @Default("ClusterIP")
    @Pattern("^(ClusterIP|NodePort|LoadBalancer)$")
    private String type = "ClusterIP";
    private Map<String, String> annotations;

    public String getType() { return type; }
    public void setType(String type) { this.type = type; }
    public Map<String, String> getAnnotations() { return annotations; }
    public void setAnnotations(Map<String, String> annotations) { this.annotations = annotations; }
  }
}
