package io.whatssound.realtime.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The project's import order, in every Java file of every module: static imports first, then the others, each group
 * sorted as plain text, with no wildcard. This module builds first, so a file out of order fails the build early,
 * naming the file and the order it should have.
 */
class ImportOrderTest {

  /** The repository root: this module's parent folder. */
  static Path repoRoot() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("realtime-postgres")) ? here : here.getParent();
  }

  @Test
  void everyJavaFileImportsStaticFirstThenSortedWithoutWildcards() throws IOException {
    List<String> wrong = new ArrayList<>();
    int files = 0;
    try (Stream<Path> all = Files.walk(repoRoot())) {
      for (Path f : all.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/")
          && !p.toString().contains("/target/") && !p.toString().contains("/node_modules/")).sorted().toList()) {
        files++;
        List<String> imports = Files.readAllLines(f).stream().filter(l -> l.startsWith("import ")).toList();
        List<String> expected = new ArrayList<>(imports.stream().filter(l -> l.startsWith("import static ")).sorted()
            .toList());
        expected.addAll(imports.stream().filter(l -> !l.startsWith("import static ")).sorted().toList());
        if (!imports.equals(expected)) {
          wrong.add(repoRoot().relativize(f) + " should import, in this order:\n  " + String.join("\n  ", expected));
        }
        imports.stream().filter(l -> l.endsWith(".*;")).forEach(l -> wrong.add(repoRoot().relativize(f) + ": " + l));
      }
    }
    assertTrue(files > 100, "found the sources under " + repoRoot() + " (" + files + " files)");
    assertEquals(List.of(), wrong);
  }
}
