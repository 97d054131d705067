package io.whatssound.realtime.bench;

/**
 * A log-linear histogram of microsecond values (64 linear sub-buckets per power of two, so about
 * 1.6% relative error), in the spirit of HdrHistogram. Not thread-safe: keep one per thread and
 * {@link #add} them.
 */
final class LatencyHistogram {
  private static final int LINEAR = 128;
  private static final int SUB = 64;
  private static final int BUCKETS = LINEAR + 57 * SUB;
  private final long[] counts = new long[BUCKETS];
  private long total;
  private long max;
  private long min = Long.MAX_VALUE;
  private double sum;

  static int index(long v) {
    if (v < LINEAR) {
      return (int) Math.max(0, v);
    }
    int e = 63 - Long.numberOfLeadingZeros(v);
    int shift = e - 6;
    int sub = (int) (v >>> shift);
    return LINEAR + (shift - 1) * SUB + (sub - SUB);
  }

  /** The middle of the bucket's value range. */
  static long valueAt(int index) {
    if (index < LINEAR) {
      return index;
    }
    int shift = (index - LINEAR) / SUB + 1;
    long sub = (index - LINEAR) % SUB + SUB;
    return (sub << shift) + ((1L << shift) >> 1);
  }

  void record(long micros) {
    counts[index(micros)]++;
    total++;
    sum += micros;
    if (micros > max) {
      max = micros;
    }
    if (micros < min) {
      min = micros;
    }
  }

  void add(LatencyHistogram o) {
    for (int i = 0; i < BUCKETS; i++) {
      counts[i] += o.counts[i];
    }
    total += o.total;
    sum += o.sum;
    max = Math.max(max, o.max);
    min = Math.min(min, o.min);
  }

  long count() {
    return total;
  }

  long max() {
    return total == 0 ? 0 : max;
  }

  double mean() {
    return total == 0 ? 0 : sum / total;
  }

  /** The value at {@code percentile} (0-100), in microseconds; 0 when empty. */
  long percentile(double percentile) {
    if (total == 0) {
      return 0;
    }
    long target = Math.max(1, (long) Math.ceil(percentile / 100.0 * total));
    long seen = 0;
    for (int i = 0; i < BUCKETS; i++) {
      seen += counts[i];
      if (seen >= target) {
        return Math.min(valueAt(i), max);
      }
    }
    return max;
  }
}
