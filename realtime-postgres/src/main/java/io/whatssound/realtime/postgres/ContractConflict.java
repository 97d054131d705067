package io.whatssound.realtime.postgres;

import java.sql.SQLException;

/**
 * What the contract would create belongs to someone else (a slot of that name in another database, a database
 * another tenant claimed): nothing was changed, and the message says what to choose instead. SQLSTATE 42710
 * (duplicate_object).
 */
public final class ContractConflict extends SQLException {
  private static final long serialVersionUID = 1L;

  public ContractConflict(String message) {
    super(message, "42710");
  }
}
