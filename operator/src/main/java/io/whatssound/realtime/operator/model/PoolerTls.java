package io.whatssound.realtime.operator.model;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The TLS identity of a tenant's PgBouncer, made by the operator: a CA of the tenant's own, and a server certificate
 * it signs for the pooler Service's names. The runtime verifies PgBouncer against that CA ({@code verify-full}), so
 * the pods' database traffic is encrypted and authenticated inside the cluster too. EC P-256 keys, ten years.
 */
public final class PoolerTls {
  public static final String CA = "ca.crt";
  public static final String CERT = "tls.crt";
  public static final String KEY = "tls.key";
  static final Duration VALIDITY = Duration.ofDays(3650);

  private PoolerTls() {}

  /** PEM files: {@link #CA}, {@link #CERT} and {@link #KEY}. */
  public record Material(String ca, String cert, String key) {
    public Map<String, String> asMap() {
      return Map.of(CA, ca, CERT, cert, KEY, key);
    }
  }

  /** The names the runtime reaches a cluster's pooler by. */
  public static List<String> names(String cluster, String namespace, String clusterDomain) {
    String service = Names.pooler(cluster);
    return List.of(service, service + "." + namespace, service + "." + namespace + ".svc",
        service + "." + namespace + ".svc." + clusterDomain);
  }

  /** A new CA and a server certificate for {@code names} (the first is its subject). */
  public static Material generate(List<String> names, Instant now) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
      KeyPair caKey = g.generateKeyPair();
      KeyPair serverKey = g.generateKeyPair();
      X500Name caName = new X500Name("CN=" + names.get(0) + " CA");
      Date from = Date.from(now.minus(Duration.ofHours(1)));
      Date to = Date.from(now.plus(VALIDITY));
      X509CertificateHolder caCert = new JcaX509v3CertificateBuilder(caName, serial(), from, to, caName, caKey.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
          .build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate()));
      GeneralName[] san = names.stream().map(n -> new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new);
      X509CertificateHolder serverCert = new JcaX509v3CertificateBuilder(caName, serial(), from, to,
          new X500Name("CN=" + names.get(0)), serverKey.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
          .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(san))
          .build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate()));
      return new Material(pem(caCert), pem(serverCert), pem(new JcaPKCS8Generator(serverKey.getPrivate(), null)));
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot make the pooler's TLS certificate: " + e.getMessage(), e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(64, new SecureRandom()).abs().add(BigInteger.ONE);
  }

  /** PEM text; a key goes as PKCS#8 ({@code BEGIN PRIVATE KEY}), which OpenSSL 3 and PgBouncer load. */
  private static String pem(Object o) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      w.writeObject(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }
}
