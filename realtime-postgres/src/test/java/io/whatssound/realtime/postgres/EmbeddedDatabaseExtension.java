package io.whatssound.realtime.postgres;

import java.util.Optional;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One embedded PostgreSQL for a test class: started before its first test, stopped after its last.
 * Register it as {@code @RegisterExtension static final EmbeddedDatabaseExtension DB = new EmbeddedDatabaseExtension();}
 * and use {@link #db()}; it is started before the class's own {@code @BeforeAll} methods run.
 */
public final class EmbeddedDatabaseExtension implements BeforeAllCallback, AfterAllCallback {
  private EmbeddedDatabase db;

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    db = EmbeddedDatabase.start(0, Optional.empty());
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    if (db != null) {
      db.close();
      db = null;
    }
  }

  public EmbeddedDatabase db() {
    if (db == null) {
      throw new IllegalStateException("the embedded database runs only while the test class runs");
    }
    return db;
  }
}
