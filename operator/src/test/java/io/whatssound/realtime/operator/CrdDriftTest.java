package io.whatssound.realtime.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The committed CRDs in crds/ are exactly what the Java types generate. */
class CrdDriftTest {
  static final String REFRESH = "./mvnw -B -pl operator -am process-classes -DskipTests && "
      + "cp operator/target/classes/META-INF/fabric8/*-v1.yml crds/";

  static Path generated() {
    return Path.of(System.getProperty("crds.generated", "target/classes/META-INF/fabric8"));
  }

  static Path committed() {
    return Path.of(System.getProperty("crds.committed", "../crds"));
  }

  @Test
  void committedCrdsMatchTheGeneratedOnes() throws IOException {
    List<Path> gen;
    try (Stream<Path> s = Files.list(generated())) {
      gen = s.filter(p -> p.toString().endsWith("-v1.yml")).sorted().toList();
    }
    assertEquals(2, gen.size(), "expected both CRDs in " + generated());
    for (Path g : gen) {
      Path c = committed().resolve(g.getFileName());
      assertTrue(Files.exists(c), c + " is missing; refresh the CRDs with: " + REFRESH);
      assertEquals(Files.readString(g), Files.readString(c),
          c + " differs from what the Java types generate; refresh the CRDs with: " + REFRESH);
    }
    try (Stream<Path> s = Files.list(committed())) {
      assertEquals(gen.stream().map(Path::getFileName).toList(),
          s.filter(p -> p.toString().endsWith(".yml")).map(Path::getFileName).sorted().toList(),
          "crds/ holds a CRD the types no longer generate; refresh with: " + REFRESH);
    }
  }
}
