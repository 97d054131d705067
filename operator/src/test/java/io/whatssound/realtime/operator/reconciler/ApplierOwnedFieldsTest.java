package io.whatssound.realtime.operator.reconciler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What counts as a hand edit: a change to a field the operator sets, and nothing else. */
class ApplierOwnedFieldsTest {
  private static Service desired() {
    return new ServiceBuilder()
        .withNewMetadata().withName("party").withNamespace("ns").withLabels(Map.of("app", "realtime")).endMetadata()
        .withNewSpec().withSelector(Map.of("app", "realtime"))
        .addNewPort().withName("ws").withPort(4000).withTargetPort(new IntOrString(4000)).endPort()
        .endSpec().build();
  }

  /** The desired Service as the API server returns it: defaults filled in, status and bookkeeping added. */
  private static Service asServed() {
    Service s = Serialization.clone(desired());
    s.getMetadata().setUid("u-1");
    s.getMetadata().setResourceVersion("7");
    s.getMetadata().setLabels(Map.of("app", "realtime", "added-by", "someone-else"));
    s.getSpec().setClusterIP("10.96.0.12");
    s.getSpec().setType("ClusterIP");
    s.getSpec().getPorts().get(0).setProtocol("TCP");
    return s;
  }

  @Test
  void serverDefaultsAndOthersLabelsAreNotEdits() {
    Service later = asServed();
    later.getMetadata().setResourceVersion("9");
    later.getSpec().setSessionAffinity("None");
    assertEquals(Applier.ownedFields(desired(), asServed()), Applier.ownedFields(desired(), later));
  }

  @Test
  void aChangedPortSelectorOrOwnLabelIsAnEdit() {
    String reference = Applier.ownedFields(desired(), asServed());
    Service port = asServed();
    port.getSpec().getPorts().get(0).setPort(4001);
    Service selector = asServed();
    selector.getSpec().setSelector(Map.of("app", "something-else"));
    Service label = asServed();
    label.getMetadata().setLabels(Map.of("app", "changed"));
    Service extraPort = asServed();
    extraPort.getSpec().getPorts().add(extraPort.getSpec().getPorts().get(0));
    for (Service edited : new Service[] {port, selector, label, extraPort}) {
      assertNotEquals(reference, Applier.ownedFields(desired(), edited), Serialization.asJson(edited.getSpec()));
    }
  }
}
