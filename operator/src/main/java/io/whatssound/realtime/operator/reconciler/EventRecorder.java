package io.whatssound.realtime.operator.reconciler;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Instant;
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

  private void record(HasMetadata on, String type, String reason, String message) {
    Instant now = clock.instant();
    String ts = now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
    String name = on.getMetadata().getName() + "." + Long.toHexString(now.toEpochMilli()) + "."
        + reason.toLowerCase(Locale.ROOT);
    try {
      client.v1().events().inNamespace(on.getMetadata().getNamespace()).resource(new EventBuilder()
          .withNewMetadata().withName(name).withNamespace(on.getMetadata().getNamespace()).endMetadata()
          .withNewInvolvedObject()
          .withApiVersion(on.getApiVersion()).withKind(on.getKind()).withName(on.getMetadata().getName())
          .withNamespace(on.getMetadata().getNamespace()).withUid(on.getMetadata().getUid())
          .endInvolvedObject()
          .withType(type).withReason(reason).withMessage(message)
          .withFirstTimestamp(ts).withLastTimestamp(ts).withCount(1)
          .withNewSource().withComponent("realtime-operator").endSource()
          .build()).create();
    } catch (RuntimeException e) {
      LOG.warn("event=event_record_failed kind={} name={} reason={} error={}", on.getKind(),
          on.getMetadata().getName(), reason, e.toString());
    }
  }
}
