package io.whatssound.realtime.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class DatabaseUrlTest {

  @Test
  void parsesPostgresUrlsWithEncodedPasswords() {
    DatabaseUrl u = DatabaseUrl.parse("postgres://rt:p%40ss%3Aword@db.example:6543/app?sslmode=require");
    assertEquals("jdbc:postgresql://db.example:6543/app?sslmode=require", u.jdbcUrl());
    assertEquals("rt", u.user());
    assertEquals(Optional.of("p@ss:word"), u.password());
    assertFalse(u.toString().contains("p@ss"), "toString never shows the password");
  }

  @Test
  void defaultsPortDatabaseAndUser() {
    DatabaseUrl u = DatabaseUrl.parse("postgresql://db");
    assertEquals("jdbc:postgresql://db:5432/postgres", u.jdbcUrl());
    assertEquals("postgres", u.user());
    assertEquals(Optional.empty(), u.password());
  }

  @Test
  void takesJdbcUrlsAndMovesCredentialsOut() {
    DatabaseUrl u = DatabaseUrl.parse("jdbc:postgresql://h:5433/d?user=a&password=b&sslmode=disable");
    assertEquals("jdbc:postgresql://h:5433/d?sslmode=disable", u.jdbcUrl());
    assertEquals("a", u.user());
    assertEquals(Optional.of("b"), u.password());
  }

  @Test
  void rejectsOtherSchemesWithAHint() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DatabaseUrl.parse("mysql://x/y"));
    assertEquals("use postgres://user:password@host:port/database or a jdbc:postgresql:// URL", e.getMessage());
  }
}
