package io.whatssound.realtime.operator.kube;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a command-line client (kubectl, helm) of the control plane with a kubeconfig, bounded in time. */
public final class Cli {
  /** What a command printed and how it exited. */
  public record Result(List<String> command, int exit, String out, String err) {
    public boolean ok() {
      return exit == 0;
    }

    /** The result, when the command succeeded; otherwise an AssertionError with everything it printed. */
    public Result orFail() {
      if (!ok()) {
        throw new AssertionError(this.toString());
      }
      return this;
    }

    @Override
    public String toString() {
      return String.join(" ", command) + " exited " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  private Cli() {}

  public static Result run(String binary, List<String> args, Path kubeconfig, Duration timeout) {
    List<String> command = new ArrayList<>();
    command.add(binary);
    command.addAll(args);
    try {
      Path out = Files.createTempFile("cli", ".out");
      Path err = Files.createTempFile("cli", ".err");
      try {
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("KUBECONFIG", kubeconfig.toString());
        // helm keeps its caches and settings here, not in the user's home
        Path helmHome = kubeconfig.getParent().resolve("helm-home");
        pb.environment().put("HELM_CACHE_HOME", helmHome.resolve("cache").toString());
        pb.environment().put("HELM_CONFIG_HOME", helmHome.resolve("config").toString());
        pb.environment().put("HELM_DATA_HOME", helmHome.resolve("data").toString());
        Process p = pb.start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
          throw new AssertionError(String.join(" ", command) + " did not finish within " + timeout + "\n"
              + Files.readString(out, StandardCharsets.UTF_8) + Files.readString(err, StandardCharsets.UTF_8));
        }
        return new Result(command.stream()
            .map(s -> s.startsWith("/") && s.contains("/k8s/") ? Path.of(s).getFileName().toString() : s).toList(),
            p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted: " + command);
    }
  }
}
