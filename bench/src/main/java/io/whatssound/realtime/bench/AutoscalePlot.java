package io.whatssound.realtime.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.ToIntFunction;
import javax.imageio.ImageIO;

/**
 * The autoscale run as a PNG, drawn with Java2D (headless, no plotting library): above, clients wanted and joined
 * (left axis) with the pool's replicas (right axis); below, joins and server-initiated disconnects per second with the
 * pool's configured reconnect rate.
 */
final class AutoscalePlot {
  private static final int W = 1100;
  private static final int H = 720;
  private static final int LEFT = 70;
  private static final int RIGHT = 70;
  private static final Color WANTED = new Color(150, 150, 150);
  private static final Color JOINED = new Color(31, 119, 180);
  private static final Color SPEC = new Color(214, 39, 40);
  private static final Color READY = new Color(44, 160, 44);
  private static final Color DISCONNECTS = new Color(255, 127, 14);
  private static final Stroke THICK = new BasicStroke(2f);
  private static final Stroke DASHED =
      new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f);

  private AutoscalePlot() {}

  static void write(Path png, List<AutoscaleScenario.Row> rows, int maxReconnects, int ramp, int hold, String title)
      throws IOException {
    System.setProperty("java.awt.headless", "true");
    BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, W, H);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
    g.setColor(Color.BLACK);
    g.drawString(title, LEFT, 24);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));

    int tMax = rows.isEmpty() ? 1 : rows.get(rows.size() - 1).t();
    int clientsMax = nice(rows.stream().mapToInt(r -> Math.max(r.wanted(), r.joined())).max().orElse(1));
    int replicasMax = Math.max(2, rows.stream().mapToInt(r -> Math.max(r.specReplicas(), r.readyReplicas())).max()
        .orElse(1) + 1);
    int rateMax = nice(Math.max(maxReconnects * 2, rows.stream().mapToInt(r -> Math.max(r.joins(), r.disconnects()))
        .max().orElse(1)));

    Panel top = new Panel(g, 50, 400, tMax);
    top.frame("clients", clientsMax, "replicas", replicasMax, ramp, hold);
    top.series(rows, AutoscaleScenario.Row::wanted, clientsMax, WANTED, DASHED, false);
    top.series(rows, AutoscaleScenario.Row::joined, clientsMax, JOINED, THICK, false);
    top.series(rows, AutoscaleScenario.Row::specReplicas, replicasMax, SPEC, DASHED, true);
    top.series(rows, AutoscaleScenario.Row::readyReplicas, replicasMax, READY, THICK, true);
    top.legend(new String[] {"clients wanted", "clients joined", "spec.replicas", "ready replicas"},
        new Color[] {WANTED, JOINED, SPEC, READY});

    Panel bottom = new Panel(g, 480, 640, tMax);
    bottom.frame("per second", rateMax, null, 0, ramp, hold);
    bottom.bars(rows, AutoscaleScenario.Row::disconnects, rateMax, DISCONNECTS);
    bottom.series(rows, AutoscaleScenario.Row::joins, rateMax, JOINED, new BasicStroke(1f), false);
    bottom.hline(maxReconnects, rateMax, SPEC, "maxReconnectsPerSecond " + maxReconnects);
    bottom.legend(new String[] {"joins/s", "server disconnects/s (drain, shed)"}, new Color[] {JOINED, DISCONNECTS});
    g.setColor(Color.BLACK);
    g.drawString("seconds since the ramp started", W / 2 - 90, H - 30);
    g.dispose();
    ImageIO.write(img, "png", png.toFile());
  }

  /** A round upper bound for an axis, divisible in quarters: 1, 2, 3, 4, 5, 6 or 8 times a power of ten (at least 4). */
  static int nice(int v) {
    int p = 1;
    while (true) {
      for (int m : new int[] {4, 6, 8, 10, 12, 16, 20, 30, 40, 60, 80}) {
        if (m * p >= v) {
          return m * p;
        }
      }
      p *= 10;
    }
  }

  private record Panel(Graphics2D g, int y0, int y1, int tMax) {
    int x(double t) {
      return LEFT + (int) Math.round((W - LEFT - RIGHT) * t / Math.max(1, tMax));
    }

    int y(double v, int max) {
      return y1 - (int) Math.round((y1 - y0) * Math.min(v, max) / Math.max(1, max));
    }

    void frame(String leftLabel, int leftMax, String rightLabel, int rightMax, int ramp, int hold) {
      g.setColor(new Color(235, 235, 235));
      for (int i = 0; i <= 4; i++) {
        int yy = y0 + (y1 - y0) * i / 4;
        g.drawLine(LEFT, yy, W - RIGHT, yy);
      }
      g.setColor(new Color(200, 200, 200));
      g.drawLine(x(ramp), y0, x(ramp), y1);
      g.drawLine(x(ramp + hold), y0, x(ramp + hold), y1);
      g.setColor(Color.BLACK);
      g.drawRect(LEFT, y0, W - LEFT - RIGHT, y1 - y0);
      for (int i = 0; i <= 4; i++) {
        int yy = y1 - (y1 - y0) * i / 4;
        g.drawString(String.valueOf(leftMax * i / 4), LEFT - 45, yy + 4);
        if (rightLabel != null && rightMax * i % 4 == 0) {
          g.drawString(String.valueOf(rightMax * i / 4), W - RIGHT + 8, yy + 4);
        }
      }
      int step = tMax > 300 ? 60 : 30;
      for (int t = 0; t <= tMax; t += step) {
        g.drawLine(x(t), y1, x(t), y1 + 4);
        g.drawString(String.valueOf(t), x(t) - 8, y1 + 18);
      }
      g.drawString(leftLabel, 8, y0 - 6);
      if (rightLabel != null) {
        g.drawString(rightLabel, W - RIGHT - 10, y0 - 6);
      }
    }

    /** A series as a line, or as steps ({@code stepped}: a value holds until the next); negative values are gaps. */
    void series(List<AutoscaleScenario.Row> rows, ToIntFunction<AutoscaleScenario.Row> f, int max, Color c, Stroke s,
        boolean stepped) {
      g.setColor(c);
      g.setStroke(s);
      int px = -1;
      int py = -1;
      for (AutoscaleScenario.Row r : rows) {
        int v = f.applyAsInt(r);
        if (v < 0) {
          continue;
        }
        int xx = x(r.t());
        int yy = y(v, max);
        if (px >= 0 && stepped) {
          g.drawLine(px, py, xx, py);
          g.drawLine(xx, py, xx, yy);
        } else if (px >= 0) {
          g.drawLine(px, py, xx, yy);
        }
        px = xx;
        py = yy;
      }
      g.setStroke(new BasicStroke(1f));
    }

    void bars(List<AutoscaleScenario.Row> rows, ToIntFunction<AutoscaleScenario.Row> f, int max, Color c) {
      g.setColor(c);
      int w = Math.max(1, x(1) - x(0));
      for (AutoscaleScenario.Row r : rows) {
        int v = f.applyAsInt(r);
        if (v > 0) {
          int yy = y(v, max);
          g.fillRect(x(r.t() - 1), yy, w, y1 - yy);
        }
      }
    }

    void hline(int v, int max, Color c, String label) {
      g.setColor(c);
      g.setStroke(DASHED);
      g.drawLine(LEFT, y(v, max), W - RIGHT, y(v, max));
      g.setStroke(new BasicStroke(1f));
      g.drawString(label, W - RIGHT - 200, y(v, max) - 4);
    }

    void legend(String[] names, Color[] colors) {
      int xx = LEFT + 10;
      for (int i = 0; i < names.length; i++) {
        g.setColor(colors[i]);
        g.fillRect(xx, y0 + 10, 14, 4);
        g.setColor(Color.BLACK);
        g.drawString(names[i], xx + 18, y0 + 16);
        xx += 30 + g.getFontMetrics().stringWidth(names[i]);
      }
    }
  }
}
