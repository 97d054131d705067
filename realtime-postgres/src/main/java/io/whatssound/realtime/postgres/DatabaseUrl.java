package io.whatssound.realtime.postgres;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Optional;
import java.util.Properties;
import org.postgresql.Driver;

/**
 * Where a database is and who connects: parsed from {@code postgres://user:password@host:port/db?sslmode=...}
 * or a JDBC URL ({@code jdbc:postgresql://...?user=..&password=..}). {@link #toString()} never shows the password.
 *
 * @param jdbcUrl  a JDBC URL without credentials
 * @param user     the role
 * @param password its password, if any
 */
public record DatabaseUrl(String jdbcUrl, String user, Optional<String> password) {

  public static DatabaseUrl parse(String value) {
    String v = value.trim();
    if (v.startsWith("jdbc:postgresql:")) {
      Properties props = Driver.parseURL(v, new Properties());
      if (props == null) {
        throw new IllegalArgumentException("not a valid PostgreSQL JDBC URL");
      }
      String user = props.getProperty("user", "postgres");
      int q = v.indexOf('?');
      StringBuilder rest = new StringBuilder();
      if (q >= 0) {
        for (String kv : v.substring(q + 1).split("&")) {
          if (!kv.startsWith("user=") && !kv.startsWith("password=") && !kv.isEmpty()) {
            rest.append(rest.length() == 0 ? "?" : "&").append(kv);
          }
        }
      }
      return new DatabaseUrl((q >= 0 ? v.substring(0, q) : v) + rest, user,
          Optional.ofNullable(props.getProperty("password")));
    }
    if (!v.startsWith("postgres://") && !v.startsWith("postgresql://")) {
      throw new IllegalArgumentException(
          "use postgres://user:password@host:port/database or a jdbc:postgresql:// URL");
    }
    URI uri;
    try {
      uri = new URI(v);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("not a valid postgres:// URL (is the password URL-encoded?)");
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("the URL has no host");
    }
    String user = "postgres";
    Optional<String> password = Optional.empty();
    String info = uri.getRawUserInfo();
    if (info != null) {
      int colon = info.indexOf(':');
      user = decode(colon < 0 ? info : info.substring(0, colon));
      if (colon >= 0) {
        password = Optional.of(decode(info.substring(colon + 1)));
      }
    }
    String db = uri.getPath() == null || uri.getPath().length() <= 1 ? "postgres" : uri.getPath().substring(1);
    int port = uri.getPort() > 0 ? uri.getPort() : 5432;
    String query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
    return new DatabaseUrl("jdbc:postgresql://" + uri.getHost() + ":" + port + "/" + db + query, user, password);
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  /** This URL verifying the server against the CA certificates in {@code file} ({@code sslrootcert}). */
  public DatabaseUrl withRootCert(Path file) {
    String param = "sslrootcert=" + URLEncoder.encode(file.toString(), StandardCharsets.UTF_8);
    return new DatabaseUrl(jdbcUrl + (jdbcUrl.contains("?") ? "&" : "?") + param, user, password);
  }

  /** Connection properties with the credentials. */
  public Properties properties() {
    Properties p = new Properties();
    p.setProperty("user", user);
    password.ifPresent(pw -> p.setProperty("password", pw));
    p.setProperty("ApplicationName", "realtime");
    return p;
  }

  public Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl, properties());
  }

  @Override
  public String toString() {
    return user + "@" + jdbcUrl;
  }
}
