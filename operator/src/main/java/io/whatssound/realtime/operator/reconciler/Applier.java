package io.whatssound.realtime.operator.reconciler;

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

/**
 * Creates, updates and deletes owned objects without server-side apply. What exists is read from the informer
 * cache of the reconciler's event source, never from the API server; the desired object's hash is kept in an
 * annotation and an object is written only when that hash changes, so server defaults never cause churn and a
 * reconcile with nothing to change makes no request at all. What was written goes back into the event source's
 * cache, so the next reconcile sees it before the watch event arrives.
 */
public final class Applier {
  private final KubernetesClient client;

  public Applier(KubernetesClient client) {
    this.client = client;
  }

  /** What happened to one object; {@code FOREIGN}: one of that name exists and is not the owner's, it was left alone. */
  public enum Outcome { CREATED, UPDATED, UNCHANGED, FOREIGN }

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
        cache.handleRecentResourceCreate(id, client.resource(desired).create());
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
    if (seen != null && hash.equals(seen.get(Names.DESIRED_HASH))) {
      return Outcome.UNCHANGED;
    }
    desired.getMetadata().setResourceVersion(existing.getMetadata().getResourceVersion());
    if (desired instanceof Deployment d && existing instanceof Deployment e) {
      d.setStatus(e.getStatus());
    }
    cache.handleRecentResourceUpdate(id, client.resource(desired).update(), existing);
    return Outcome.UPDATED;
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
    existing.ifPresent(o -> client.resource(o).delete());
    return existing.isPresent();
  }
}
