package io.whatssound.realtime.operator.reconciler;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.whatssound.realtime.operator.model.Hashing;
import io.whatssound.realtime.operator.model.Names;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Creates or updates owned objects without server-side apply: the desired object's hash is kept in an
 * annotation and an object is written only when that hash changes, so server defaults never cause churn.
 */
public final class Applier {
  private final KubernetesClient client;

  public Applier(KubernetesClient client) {
    this.client = client;
  }

  /** What happened to one object. */
  public enum Outcome { CREATED, UPDATED, UNCHANGED }

  public <T extends HasMetadata> Outcome apply(T desired, HasMetadata owner) {
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
    T existing = client.resource(desired).get();
    if (existing == null) {
      client.resource(desired).create();
      return Outcome.CREATED;
    }
    Map<String, String> seen = existing.getMetadata().getAnnotations();
    if (seen != null && hash.equals(seen.get(Names.DESIRED_HASH))) {
      return Outcome.UNCHANGED;
    }
    desired.getMetadata().setResourceVersion(existing.getMetadata().getResourceVersion());
    if (desired instanceof Deployment d && existing instanceof Deployment e) {
      d.setStatus(e.getStatus());
    }
    client.resource(desired).update();
    return Outcome.UPDATED;
  }

  public <T extends HasMetadata> void deleteIfPresent(T object) {
    client.resource(object).delete();
  }
}
