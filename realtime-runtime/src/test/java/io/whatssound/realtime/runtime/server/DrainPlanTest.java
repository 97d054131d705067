package io.whatssound.realtime.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The batches a stopping pod closes its sockets in. */
class DrainPlanTest {
  private static List<Integer> sockets(int n) {
    return IntStream.range(0, n).boxed().toList();
  }

  @Test
  void manySocketsSpreadOverMostOfTheWindowInEqualBatches() {
    List<List<Integer>> b = DrainPlan.batches(sockets(1000), Duration.ofSeconds(10));
    assertEquals(40, b.size(), "one batch each 200 ms over 8 of the 10 s");
    assertTrue(b.stream().allMatch(x -> x.size() == 25));
    assertEquals(sockets(1000), b.stream().flatMap(List::stream).toList(), "every socket once, in order");
    assertTrue((b.size() - 1) * DrainPlan.INTERVAL.toMillis() <= 8000, "the last batch leaves room for stragglers");
  }

  @Test
  void fewSocketsGoOneByOneAndAShortWindowAtOnce() {
    assertEquals(List.of(List.of(0), List.of(1), List.of(2)), DrainPlan.batches(sockets(3), Duration.ofSeconds(10)));
    assertEquals(List.of(sockets(5)), DrainPlan.batches(sockets(5), Duration.ofMillis(100)));
    assertEquals(List.of(), DrainPlan.batches(List.of(), Duration.ofSeconds(10)));
    assertEquals(34, DrainPlan.batches(sockets(100), Duration.ofSeconds(10)).size(), "ceil(100 / 40) = 3 a batch");
  }

  @Test
  void sheddingSpreadsOverTheWholeWindowSoItsRateIsTheOneAskedFor() {
    // the operator asks for 20 reconnects a second over its 30 s poll: 600 sockets
    List<List<Integer>> b = DrainPlan.batches(sockets(600), Duration.ofSeconds(30), 1.0);
    assertEquals(150, b.size(), "one batch each 200 ms over all 30 s");
    assertTrue(b.stream().allMatch(x -> x.size() == 4), "4 every 200 ms: 20 a second, not more");
  }
}
