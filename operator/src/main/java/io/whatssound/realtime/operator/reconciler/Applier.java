package io.whatssound.realtime.operator.reconciler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.whatssound.realtime.operator.model.Hashing;
import io.whatssound.realtime.operator.model.Names;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Creates, updates and deletes owned objects without server-side apply. What exists is read from the informer
 * cache of the reconciler's event source, never from the API server; the desired object's hash is kept in an
 * annotation and an object is written only when that hash changes, so server defaults never cause churn and a
 * reconcile with nothing to change makes no request at all. What was written goes back into the event source's
 * cache, so the next reconcile sees it before the watch event arrives.
 *
 * <p>Hand edits: the fields the desired object sets are read back from each object as the API server returned it
 * after the operator's write, and remembered as a hash ({@link Written}). When the cached object's same fields no
 * longer match, someone else changed them: the object is written again and a {@code Restored} Event says so. Fields
 * the operator does not set (server defaults, labels others add) are never compared, and the comparison is between
 * two answers of the server, so its normalization of values cannot look like an edit.
 */
public final class Applier {
  private final KubernetesClient client;
  private final Written written;
  private final EventRecorder events;

  public Applier(KubernetesClient client, Written written, EventRecorder events) {
    this.client = client;
    this.written = written;
    this.events = events;
  }

  /** What happened to one object; {@code FOREIGN}: one of that name exists and is not the owner's, it was left alone. */
  public enum Outcome { CREATED, UPDATED, UNCHANGED, RESTORED, FOREIGN }

  /**
   * What a reconciler last wrote of each object it owns, by uid: a hash of the fields its desired object sets, as the
   * API server returned them. One per reconciler, for the operator's life; after a restart the first reconcile of an
   * object takes what it finds as the reference.
   */
  public static final class Written {
    private final Map<String, String> byUid = new ConcurrentHashMap<>();
  }

  private final List<String> foreign = new ArrayList<>();

  public <T extends HasMetadata> Outcome apply(T desired, HasMetadata owner, InformerEventSource<T, ?> cache) {
    desired.getMetadata().setOwnerReferences(List.of(new OwnerReferenceBuilder()
        .withApiVersion(owner.getApiVersion())
        .withKind(owner.getKind())
        .withName(owner.getMetadata().getName())
        .withUid(owner.getMetadata().getUid())
        .withController(true)
        .withBlockOwnerDeletion(true)
        .build()));
    String hash = Hashing.ofJson(desired);
    Map<String, String> annotations =
        desired.getMetadata().getAnnotations() == null ? new HashMap<>() : new HashMap<>(desired.getMetadata().getAnnotations());
    annotations.put(Names.DESIRED_HASH, hash);
    desired.getMetadata().setAnnotations(annotations);
    ResourceID id = ResourceID.fromResource(desired);
    Optional<T> cached = cache.get(id);
    T existing;
    if (cached.isPresent()) {
      existing = cached.get();
    } else {
      try {
        T created = client.resource(desired).create();
        remember(desired, created);
        cache.handleRecentResourceCreate(id, created);
        return Outcome.CREATED;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        // An object of that name the cache does not show: ours only if it names the owner as its controller (made
        // by us, its labels since changed); anyone else's is never taken over.
        existing = client.resource(desired).get();
        if (existing == null) {
          throw e;
        }
        if (!controlledBy(existing, owner)) {
          foreign.add(existing.getKind() + " " + existing.getMetadata().getName());
          return Outcome.FOREIGN;
        }
      }
    }
    Map<String, String> seen = existing.getMetadata().getAnnotations();
    Outcome outcome = Outcome.UPDATED;
    if (seen != null && hash.equals(seen.get(Names.DESIRED_HASH))) {
      String now = ownedFields(desired, existing);
      String last = written.byUid.putIfAbsent(existing.getMetadata().getUid(), now);
      if (last == null || last.equals(now)) {
        return Outcome.UNCHANGED;
      }
      outcome = Outcome.RESTORED;
      events.warning(owner, "Restored", existing.getKind() + " " + existing.getMetadata().getName()
          + " was changed by someone else; restored to what " + owner.getKind() + " " + owner.getMetadata().getName()
          + " asks for (change the " + owner.getKind() + " instead)");
    }
    T shape = Serialization.clone(desired);
    desired.getMetadata().setResourceVersion(existing.getMetadata().getResourceVersion());
    // labels and annotations others put on the object stay: the update replaces only the operator's own
    desired.getMetadata().setLabels(keepOthers(desired.getMetadata().getLabels(), existing.getMetadata().getLabels()));
    desired.getMetadata().setAnnotations(
        keepOthers(desired.getMetadata().getAnnotations(), existing.getMetadata().getAnnotations()));
    if (desired instanceof Deployment d && existing instanceof Deployment e) {
      d.setStatus(e.getStatus());
    }
    T updated = client.resource(desired).update();
    remember(shape, updated);
    cache.handleRecentResourceUpdate(id, updated, existing);
    return outcome;
  }

  /** {@code ours}, plus the entries of {@code theirs} under keys {@code ours} does not have. */
  private static Map<String, String> keepOthers(Map<String, String> ours, Map<String, String> theirs) {
    Map<String, String> out = theirs == null ? new HashMap<>() : new HashMap<>(theirs);
    if (ours != null) {
      out.putAll(ours);
    }
    return out.isEmpty() ? ours : out;
  }

  private void remember(HasMetadata desired, HasMetadata written) {
    this.written.byUid.put(written.getMetadata().getUid(), ownedFields(desired, written));
  }

  /**
   * A hash of {@code live}'s values at the paths {@code desired} sets: its spec-like fields, and of its metadata the
   * labels, annotations and owner references; never its status.
   */
  static String ownedFields(HasMetadata desired, HasMetadata live) {
    JsonNode want = Serialization.jsonMapper().valueToTree(desired);
    JsonNode have = Serialization.jsonMapper().valueToTree(live);
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    want.fields().forEachRemaining(f -> {
      String k = f.getKey();
      if (k.equals("status") || k.equals("apiVersion") || k.equals("kind")) {
        return;
      }
      if (k.equals("metadata")) {
        ObjectNode meta = out.putObject("metadata");
        for (String m : List.of("labels", "annotations", "ownerReferences")) {
          if (f.getValue().has(m)) {
            meta.set(m, project(f.getValue().get(m), have.path("metadata").path(m)));
          }
        }
        return;
      }
      out.set(k, project(f.getValue(), have.path(k)));
    });
    return Hashing.of(out.toString());
  }

  /** {@code have} cut to the shape of {@code want}: the keys of objects it names, arrays element by element. */
  private static JsonNode project(JsonNode want, JsonNode have) {
    if (have.isMissingNode()) {
      return JsonNodeFactory.instance.textNode("\u0000absent");
    }
    if (want.isObject() && have.isObject()) {
      ObjectNode out = JsonNodeFactory.instance.objectNode();
      want.fieldNames().forEachRemaining(k -> out.set(k, project(want.get(k), have.path(k))));
      return out;
    }
    if (want.isArray() && have.isArray() && want.size() == have.size()) {
      ArrayNode out = JsonNodeFactory.instance.arrayNode();
      for (int i = 0; i < want.size(); i++) {
        out.add(project(want.get(i), have.get(i)));
      }
      return out;
    }
    return have;
  }

  /**
   * Writes {@code status} to {@code resource}'s status subresource when it differs from what the resource holds:
   * a plain update (PUT), optimistic on {@code resourceVersion}, so a conflict fails the reconcile and JOSDK retries
   * it with a fresh object. A JSON patch against a resource without a status is refused by a real API server.
   *
   * @return whether a request was sent
   */
  public <S, T extends CustomResource<?, S>> boolean writeStatus(T resource, S status) {
    if (Serialization.asJson(status).equals(Serialization.asJson(resource.getStatus()))) {
      return false;
    }
    resource.setStatus(status);
    client.resource(resource).updateStatus();
    return true;
  }

  /** The message of a {@code Conflict} condition about {@link #foreign()}, or empty when there is none. */
  public Optional<String> conflictMessage(HasMetadata owner) {
    return foreign.isEmpty() ? Optional.empty() : Optional.of(String.join(", ", foreign) + " already exist"
        + (foreign.size() == 1 ? "s" : "") + " in namespace " + owner.getMetadata().getNamespace() + " and "
        + (foreign.size() == 1 ? "is" : "are") + " not " + owner.getKind() + " " + owner.getMetadata().getName()
        + "'s; rename or delete " + (foreign.size() == 1 ? "it" : "them") + ", or give the " + owner.getKind()
        + " another name");
  }

  private static boolean controlledBy(HasMetadata o, HasMetadata owner) {
    return o.getMetadata().getOwnerReferences() != null && o.getMetadata().getOwnerReferences().stream()
        .anyMatch(r -> Boolean.TRUE.equals(r.getController()) && owner.getMetadata().getUid().equals(r.getUid()));
  }

  /** The informer event source {@code name} of a reconciler: its cache of {@code type}. */
  @SuppressWarnings("unchecked")
  public static <R extends HasMetadata, P extends HasMetadata> InformerEventSource<R, P> cache(
      Context<P> context, Class<R> type, String name) {
    return (InformerEventSource<R, P>) context.eventSourceRetriever().getEventSourceFor(type, name);
  }

  /** Deletes the object the cache holds under that name and namespace; no request when it holds none. */
  public <T extends HasMetadata> boolean deleteIfPresent(String name, String namespace, InformerEventSource<T, ?> cache) {
    Optional<T> existing = cache.get(new ResourceID(name, namespace));
    existing.ifPresent(o -> {
      client.resource(o).delete();
      written.byUid.remove(o.getMetadata().getUid());
    });
    return existing.isPresent();
  }
}
