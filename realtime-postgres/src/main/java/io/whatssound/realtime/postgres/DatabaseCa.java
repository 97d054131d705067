package io.whatssound.realtime.postgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The CA certificate (PEM) that verifies a database server ({@code sslmode=verify-ca} or {@code verify-full}), as a
 * file PgJDBC can read ({@code sslrootcert}): written once per content under the temporary folder, readable by this
 * user only. The operator and the runtime both get the PEM as text (from a Secret, from {@code REALTIME_DB_CA}).
 */
public final class DatabaseCa {
  private static final String BEGIN = "-----BEGIN CERTIFICATE-----";

  private DatabaseCa() {}

  /** The file holding {@code pem}; throws IllegalArgumentException when it holds no PEM certificate. */
  public static Path file(String pem) {
    if (pem == null || !pem.contains(BEGIN)) {
      throw new IllegalArgumentException("the database CA must be PEM certificates (" + BEGIN + " ...)");
    }
    try {
      Path dir = Path.of(System.getProperty("java.io.tmpdir"), "realtime-db-ca");
      Files.createDirectories(dir);
      Path file = dir.resolve(sha256(pem) + ".crt");
      if (!Files.exists(file)) {
        Path tmp = Files.createTempFile(dir, "ca", ".tmp");
        try {
          Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
          // not a POSIX file system: the folder's own permissions apply
        }
        Files.writeString(tmp, pem, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the database CA to a file: " + e.getMessage(), e);
    }
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)), 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
