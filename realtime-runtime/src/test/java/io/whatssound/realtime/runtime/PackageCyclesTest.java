package io.whatssound.realtime.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * No package of the runtime depends, through any path, on a package that depends on it: the dependencies are read
 * from the compiled classes by {@code jdeps}, the JDK's own tool. A new cycle fails this test and names it.
 */
class PackageCyclesTest {
  static final String ROOT = "io.whatssound.realtime.runtime";

  /** Package to the packages of the runtime it uses (the root package, {@code Main}, is left out: it assembles all). */
  static Map<String, Set<String>> dependencies() throws Exception {
    Path classes = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new AssertionError("no jdeps in this JDK"));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = jdeps.run(new PrintWriter(out), new PrintWriter(err), "-verbose:package", "-filter:none",
        "-e", ROOT.replace(".", "\\.") + "\\..*", classes.toString());
    assertEquals(0, exit, err.toString());
    Map<String, Set<String>> deps = new TreeMap<>();
    for (String line : out.toString().split("\\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length >= 3 && f[1].equals("->") && f[0].startsWith(ROOT + ".") && f[2].startsWith(ROOT + ".")
          && !f[0].equals(f[2])) {
        deps.computeIfAbsent(f[0].substring(ROOT.length() + 1), k -> new TreeSet<>()).add(f[2].substring(ROOT.length() + 1));
      }
    }
    return deps;
  }

  @Test
  void thePackagesFormNoCycle() throws Exception {
    Map<String, Set<String>> deps = dependencies();
    assertTrue(deps.containsKey("server") && deps.get("server").contains("channel"), "jdeps saw the packages: " + deps);
    List<String> cycles = new ArrayList<>();
    for (String start : deps.keySet()) {
      // a path from start back to start
      Deque<List<String>> paths = new ArrayDeque<>();
      paths.push(List.of(start));
      Set<String> seen = new TreeSet<>();
      while (!paths.isEmpty()) {
        List<String> path = paths.pop();
        for (String next : deps.getOrDefault(path.get(path.size() - 1), Set.of())) {
          if (next.equals(start)) {
            List<String> cycle = new ArrayList<>(path);
            cycle.add(start);
            cycles.add(String.join(" -> ", cycle));
          } else if (seen.add(next)) {
            List<String> longer = new ArrayList<>(path);
            longer.add(next);
            paths.push(longer);
          }
        }
      }
    }
    assertEquals(List.of(), cycles, "package cycles in " + ROOT + " (dependencies: " + deps + ")");
  }
}
