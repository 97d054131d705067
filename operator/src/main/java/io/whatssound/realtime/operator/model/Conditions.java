package io.whatssound.realtime.operator.model;

import io.whatssound.realtime.operator.api.Condition;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Builds a condition list from the previous one: a condition keeps its {@code lastTransitionTime} unless its
 * status flips, so writing the same observation twice changes nothing.
 */
public final class Conditions {
  private final List<Condition> previous;
  private final List<Condition> next = new ArrayList<>();
  private final Clock clock;
  private final Long generation;

  public Conditions(List<Condition> previous, Clock clock, Long generation) {
    this.previous = previous == null ? List.of() : previous;
    this.clock = clock;
    this.generation = generation;
  }

  public Conditions set(String type, boolean ok, String reason, String message) {
    return set(type, ok ? Condition.TRUE : Condition.FALSE, reason, message);
  }

  public Conditions set(String type, String status, String reason, String message) {
    next.removeIf(c -> c.getType().equals(type));
    String since = find(previous, type)
        .filter(p -> Objects.equals(p.getStatus(), status))
        .map(Condition::getLastTransitionTime)
        .orElseGet(() -> clock.instant().truncatedTo(ChronoUnit.SECONDS).toString());
    next.add(new Condition(type, status, reason, message, since, generation));
    return this;
  }

  public boolean isTrue(String type) {
    return find(next, type).map(Condition::isTrue).orElse(false);
  }

  public List<Condition> list() {
    return List.copyOf(next);
  }

  public static Optional<Condition> find(List<Condition> list, String type) {
    return list == null ? Optional.empty() : list.stream().filter(c -> type.equals(c.getType())).findFirst();
  }
}
