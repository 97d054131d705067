package io.whatssound.realtime.operator.model;

import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraintBuilder;
import io.whatssound.realtime.operator.api.SessionPoolSpec.Placement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a component's pods run, the same way for runtime pods and the pooler: the user's node selector, tolerations,
 * priority class, extra pod labels and annotations over the component's own, and a spread across nodes unless the
 * user gives constraints of their own.
 */
public final class Placements {
  private Placements() {}

  /**
   * {@code template} with {@code placement} applied: its labels under the component's {@code labels} (which win),
   * its annotations under {@code annotations}, and {@code selector} spread across nodes by default.
   */
  public static PodTemplateSpec apply(PodTemplateSpec template, Placement placement, Map<String, String> labels,
      Map<String, String> annotations, Map<String, String> selector) {
    Placement p = placement == null ? new Placement() : placement;
    Map<String, String> podLabels = new LinkedHashMap<>();
    if (p.getPodLabels() != null) {
      podLabels.putAll(new TreeMap<>(p.getPodLabels()));
    }
    podLabels.putAll(labels);
    Map<String, String> podAnnotations = new TreeMap<>();
    if (p.getPodAnnotations() != null) {
      podAnnotations.putAll(p.getPodAnnotations());
    }
    podAnnotations.putAll(annotations);
    return new PodTemplateSpecBuilder(template)
        .editOrNewMetadata().withLabels(podLabels).withAnnotations(podAnnotations).endMetadata()
        .editOrNewSpec()
        .withPriorityClassName(p.getPriorityClassName())
        .withNodeSelector(p.getNodeSelector() == null ? null : new TreeMap<>(p.getNodeSelector()))
        .withTolerations(p.getTolerations())
        .withTopologySpreadConstraints(p.getTopologySpreadConstraints() != null
            ? p.getTopologySpreadConstraints()
            : List.of(new TopologySpreadConstraintBuilder()
                .withMaxSkew(1)
                .withTopologyKey("kubernetes.io/hostname")
                .withWhenUnsatisfiable("ScheduleAnyway")
                .withLabelSelector(new LabelSelectorBuilder().withMatchLabels(selector).build())
                .build()))
        .endSpec()
        .build();
  }
}
