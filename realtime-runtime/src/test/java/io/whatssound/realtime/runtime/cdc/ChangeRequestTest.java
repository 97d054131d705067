package io.whatssound.realtime.runtime.cdc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** What a join's postgres_changes request names. */
class ChangeRequestTest {
  @Test
  void legacyTopicsNameSchemaTableAndFilter() {
    ChangeRequest r = ChangeRequest.legacy("public:votes:song=eq.intro");
    assertEquals("public", r.schema());
    assertEquals("votes", r.table());
    assertEquals("song=eq.intro", r.filter());
    assertEquals("*", ChangeRequest.legacy("public").table());
  }
}
