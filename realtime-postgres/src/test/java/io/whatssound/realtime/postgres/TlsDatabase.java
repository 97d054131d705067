package io.whatssound.realtime.postgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An embedded PostgreSQL serving TLS with a server certificate (for localhost and 127.0.0.1) that a CA of its own
 * signed, made with openssl in {@code dir}; and a second CA that signed nothing of it. For tests of
 * {@code verify-full} here and in the operator (through this module's test jar).
 */
public final class TlsDatabase implements AutoCloseable {
  private final EmbeddedDatabase db;
  private final String ca;
  private final String otherCa;

  private TlsDatabase(EmbeddedDatabase db, String ca, String otherCa) {
    this.db = db;
    this.ca = ca;
    this.otherCa = otherCa;
  }

  public static TlsDatabase start(Path dir) throws IOException, InterruptedException {
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-db-ca",
        "-keyout", "ca.key", "-out", "ca.crt");
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
        "-out", "server.csr");
    Files.writeString(dir.resolve("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days",
        "2", "-extfile", "san.ext", "-out", "server.crt");
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=another-ca",
        "-keyout", "other.key", "-out", "other.crt");
    Files.setPosixFilePermissions(dir.resolve("server.key"), PosixFilePermissions.fromString("rw-------"));
    EmbeddedDatabase db = EmbeddedDatabase.start(0, Optional.empty(), Map.of("ssl", "on",
        "ssl_cert_file", dir.resolve("server.crt").toString(), "ssl_key_file", dir.resolve("server.key").toString()));
    return new TlsDatabase(db, Files.readString(dir.resolve("ca.crt")), Files.readString(dir.resolve("other.crt")));
  }

  private static void openssl(Path dir, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IOException("openssl " + String.join(" ", args) + " failed: " + out);
    }
  }

  public EmbeddedDatabase db() {
    return db;
  }

  /** The PEM of the CA that signed the server's certificate. */
  public String ca() {
    return ca;
  }

  /** The PEM of a CA that signed nothing of this server. */
  public String otherCa() {
    return otherCa;
  }

  @Override
  public void close() throws IOException {
    db.close();
  }
}
