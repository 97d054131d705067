package io.whatssound.realtime.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class DrainSummaryTest {
  @Test
  void theLineTheRuntimeWritesIsTheOneTheOperatorReads() {
    DrainSummary d = new DrainSummary(812, 14_210, 15_000, 37);
    assertEquals("drain: 812 sockets in 14210 ms of a 15000 ms window, 37 closed at its end", d.line());
    assertEquals(Optional.of(d), DrainSummary.parse(d.line() + "\n"));
    assertTrue(d.overran());
    assertFalse(new DrainSummary(812, 12_000, 15_000, 0).overran());
  }

  @Test
  void aMessageWithoutASummaryHasNone() {
    assertEquals(Optional.empty(), DrainSummary.parse(null));
    assertEquals(Optional.empty(), DrainSummary.parse(""));
    assertEquals(Optional.empty(), DrainSummary.parse("Error: OutOfMemoryError"));
    assertEquals(Optional.empty(), DrainSummary.parse("drain: 99999999999 sockets in 1 ms of a 1 ms window, 0 closed at its end"),
        "a count beyond an int is not a summary");
  }
}
