package io.whatssound.realtime.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** The result of one run: printed as a table and appended as one row to {@code <out>/<scenario>.csv}. */
final class Report {
  private final String scenario;
  private final Map<String, String> rows = new LinkedHashMap<>();

  Report(String scenario, Options o) {
    this.scenario = scenario;
    rows.put("time", Instant.now().toString());
    o.used().forEach((k, v) -> {
      if (!k.equals("secret")) {
        rows.put(k, v);
      }
    });
  }

  Report put(String name, Object value) {
    String v;
    if (value instanceof Double d) {
      v = Math.abs(d) >= 100 ? String.format("%.0f", d) : String.format("%.2f", d);
    } else {
      v = String.valueOf(value);
    }
    rows.put(name, v);
    return this;
  }

  Report latency(String prefix, LatencyHistogram h) {
    put(prefix + "_samples", h.count());
    put(prefix + "_p50_ms", h.percentile(50) / 1000.0);
    put(prefix + "_p95_ms", h.percentile(95) / 1000.0);
    put(prefix + "_p99_ms", h.percentile(99) / 1000.0);
    put(prefix + "_p999_ms", h.percentile(99.9) / 1000.0);
    put(prefix + "_max_ms", h.max() / 1000.0);
    return this;
  }

  static double mb(long bytes) {
    return bytes < 0 ? -1 : bytes / (1024.0 * 1024.0);
  }

  void print() {
    int w = rows.keySet().stream().mapToInt(String::length).max().orElse(10);
    int vw = Math.max(22, rows.values().stream().mapToInt(String::length).max().orElse(10));
    String line = "+" + "-".repeat(w + 2) + "+" + "-".repeat(vw + 2) + "+";
    System.out.println();
    System.out.println("scenario: " + scenario);
    System.out.println(line);
    rows.forEach((k, v) -> System.out.printf("| %-" + w + "s | %" + vw + "s |%n", k, v));
    System.out.println(line);
  }

  /** A value put as a number, or NaN. */
  double number(String name) {
    try {
      return Double.parseDouble(rows.getOrDefault(name, ""));
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }

  void writeCsv(Path dir) throws IOException {
    writeCsv(dir, scenario);
  }

  /** Appends this row to {@code <dir>/<name>.csv}. */
  void writeCsv(Path dir, String name) throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve(name + ".csv");
    String header = String.join(",", rows.keySet());
    String row = String.join(",", rows.values().stream().map(v -> v.contains(",") ? "\"" + v + "\"" : v).toList());
    boolean fresh = !Files.exists(file) || !Files.readAllLines(file).stream().findFirst().orElse("").equals(header);
    if (fresh && Files.exists(file)) {
      // columns changed (other options): start a new file next to the old one
      file = dir.resolve(name + "-" + System.currentTimeMillis() + ".csv");
    }
    StringBuilder sb = new StringBuilder();
    if (fresh) {
      sb.append(header).append('\n');
    }
    sb.append(row).append('\n');
    Files.writeString(file, sb.toString(), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    System.out.println("CSV: " + file);
  }
}
