package io.whatssound.realtime.runtime;

import java.util.Collection;
import java.util.HashSet;
import java.util.Set;

/**
 * What a fault-injection test counts under its load: messages (or changes) sent, received at least once, lost (sent and
 * never received) and duplicated (received more than once), and how long the service took to recover. {@link #line}
 * is the line the test prints and docs/reliability.md quotes.
 */
public record FaultCount(String fault, int sent, int received, int lost, int duplicated, long recoveryMillis) {

  /** Counts {@code deliveries} (every delivery, repeats included) against what was {@code sent}. */
  public static FaultCount of(String fault, Collection<Integer> sent, Collection<Integer> deliveries,
      long recoveryMillis) {
    Set<Integer> sentSet = new HashSet<>(sent);
    Set<Integer> seen = new HashSet<>();
    int duplicated = 0;
    for (Integer d : deliveries) {
      if (!seen.add(d)) {
        duplicated++;
      }
    }
    seen.retainAll(sentSet);
    return new FaultCount(fault, sentSet.size(), seen.size(), sentSet.size() - seen.size(), duplicated,
        recoveryMillis);
  }

  public String line() {
    return "fault " + fault + ": sent " + sent + ", received " + received + ", lost " + lost + ", duplicated "
        + duplicated + ", recovered in " + recoveryMillis + " ms";
  }

  /** Prints {@link #line} and returns this. */
  public FaultCount print() {
    System.out.println(line());
    return this;
  }
}
