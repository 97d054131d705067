package io.whatssound.realtime.operator.reconciler;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Records core/v1 Events on our custom resources. Messages never carry secret values. */
public final class EventRecorder {
  private static final Logger LOG = LoggerFactory.getLogger(EventRecorder.class);
  private final KubernetesClient client;
  private final Clock clock;

  public EventRecorder(KubernetesClient client, Clock clock) {
    this.client = client;
    this.clock = clock;
  }

  public void normal(HasMetadata on, String reason, String message) {
    record(on, "Normal", reason, message);
  }

  public void warning(HasMetadata on, String reason, String message) {
    record(on, "Warning", reason, message);
  }

  /**
   * One Event per object and reason, as Kubernetes' own recorder aggregates: the first occurrence creates it, a
   * repeat raises its {@code count} and moves {@code lastTimestamp} and the message, so a retried failure shows as
   * one Event with a count instead of one Event per retry.
   */
  private void record(HasMetadata on, String type, String reason, String message) {
    String ts = clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
    String uid = on.getMetadata().getUid() == null ? "" : on.getMetadata().getUid();
    String name = on.getMetadata().getName() + "." + (uid.length() > 8 ? uid.substring(0, 8) : uid) + "."
        + reason.toLowerCase(Locale.ROOT);
    String ns = on.getMetadata().getNamespace();
    try {
      try {
        client.v1().events().inNamespace(ns).resource(new EventBuilder()
            .withNewMetadata().withName(name).withNamespace(ns).endMetadata()
            .withNewInvolvedObject()
            .withApiVersion(on.getApiVersion()).withKind(on.getKind()).withName(on.getMetadata().getName())
            .withNamespace(ns).withUid(on.getMetadata().getUid())
            .endInvolvedObject()
            .withType(type).withReason(reason).withMessage(message)
            .withFirstTimestamp(ts).withLastTimestamp(ts).withCount(1)
            .withNewSource().withComponent("realtime-operator").endSource()
            .build()).create();
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        Event seen = client.v1().events().inNamespace(ns).withName(name).get();
        if (seen == null) {
          throw e;
        }
        seen.setCount(seen.getCount() == null ? 2 : seen.getCount() + 1);
        seen.setLastTimestamp(ts);
        seen.setMessage(message);
        seen.setType(type);
        client.v1().events().inNamespace(ns).resource(seen).update();
      }
    } catch (RuntimeException e) {
      LOG.warn("event=event_record_failed kind={} name={} reason={} error={}", on.getKind(),
          on.getMetadata().getName(), reason, e.toString());
    }
  }
}
