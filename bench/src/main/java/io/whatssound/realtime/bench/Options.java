package io.whatssound.realtime.bench;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code --name value} and {@code --flag} command-line options, with defaults and readable errors. */
final class Options {
  private static final Set<String> FLAGS = Set.of("binary", "help");
  private final Map<String, String> values = new HashMap<>();
  /** Every option read by the scenario with its effective value, for the report and the CSV. */
  private final Map<String, String> used = new LinkedHashMap<>();

  Options(List<String> args) {
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("Unexpected argument '" + a + "': options look like --name value");
      }
      String name = a.substring(2);
      String value;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      } else if (FLAGS.contains(name)) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args.get(++i);
      } else {
        throw new IllegalArgumentException("Option --" + name + " needs a value");
      }
      values.put(name, value);
    }
  }

  String str(String name, String def) {
    String v = values.getOrDefault(name, def);
    used.put(name, v == null ? "" : v);
    return v;
  }

  int integer(String name, int def) {
    return (int) number(name, def);
  }

  long number(String name, long def) {
    String v = str(name, Long.toString(def));
    try {
      return Long.parseLong(v.replace("_", ""));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " must be a whole number, got '" + v + "'");
    }
  }

  double decimal(String name, double def) {
    String v = str(name, Double.toString(def));
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " must be a number, got '" + v + "'");
    }
  }

  boolean flag(String name) {
    return Boolean.parseBoolean(str(name, "false"));
  }

  boolean has(String name) {
    return values.containsKey(name);
  }

  Map<String, String> used() {
    return used;
  }
}
