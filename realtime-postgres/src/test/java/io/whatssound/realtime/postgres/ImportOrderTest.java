package io.whatssound.realtime.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The project's import rules, in every Java file of every module: static imports first, then the others, each group
 * sorted as plain text, with no wildcard; and no fully-qualified class name in code, unless its simple name is taken
 * in that file by an import or a type of its own. This module builds first, so a file that breaks them fails the
 * build early, naming the file and what to change.
 */
class ImportOrderTest {

  /** The repository root: this module's parent folder. */
  static Path repoRoot() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("realtime-postgres")) ? here : here.getParent();
  }

  private static final Pattern QUALIFIED =
      Pattern.compile("(?<![\\w.])((?:java|javax|jakarta|io|com|org)\\.(?:[a-z_][a-z0-9_]*\\.)+)([A-Z]\\w*)");
  private static final Pattern STRING = Pattern.compile("\"(?:\\\\.|[^\"\\\\])*\"");
  private static final Pattern TYPE = Pattern.compile("\\b(?:class|interface|record|enum)\\s+(\\w+)");

  /** Every Java source of the repository, sorted. */
  private static List<Path> sources() throws IOException {
    try (Stream<Path> all = Files.walk(repoRoot())) {
      return all.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/")
          && !p.toString().contains("/target/") && !p.toString().contains("/node_modules/")).sorted().toList();
    }
  }

  @Test
  void everyJavaFileImportsStaticFirstThenSortedWithoutWildcards() throws IOException {
    List<String> wrong = new ArrayList<>();
    int files = 0;
    for (Path f : sources()) {
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
    assertTrue(files > 100, "found the sources under " + repoRoot() + " (" + files + " files)");
    assertEquals(List.of(), wrong);
  }

  @Test
  void codeNamesClassesByTheirImportedSimpleName() throws IOException {
    List<String> wrong = new ArrayList<>();
    for (Path f : sources()) {
      List<String> lines = Files.readAllLines(f);
      Set<String> taken = new HashSet<>();
      lines.stream().filter(l -> l.startsWith("import ") && !l.startsWith("import static "))
          .forEach(l -> taken.add(l.substring(l.lastIndexOf('.') + 1, l.length() - 1)));
      Matcher types = TYPE.matcher(String.join("\n", lines));
      while (types.find()) {
        taken.add(types.group(1));
      }
      for (int i = 0; i < lines.size(); i++) {
        String code = lines.get(i).strip();
        if (code.startsWith("import ") || code.startsWith("package ") || code.startsWith("*") || code.startsWith("/")) {
          continue;
        }
        code = STRING.matcher(code).replaceAll("\"\"");
        int comment = code.indexOf("//");
        Matcher m = QUALIFIED.matcher(comment < 0 ? code : code.substring(0, comment));
        while (m.find()) {
          if (!taken.contains(m.group(2))) {
            wrong.add(repoRoot().relativize(f) + ":" + (i + 1) + ": import " + m.group(1) + m.group(2)
                + " and write " + m.group(2));
          }
        }
      }
    }
    assertEquals(List.of(), wrong);
  }
}
