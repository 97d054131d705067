// Server time and synchronized playback for listening parties, with the unmodified supabase-js.
//
// The runtime answers a `clock` push on the socket supabase-js already has open (and GET /api/time over HTTP) with
// NTP's t1 and t2 (PROTOCOL.md, "Clock"). From each sample this module computes, as NTP does (RFC 5905):
//   offset = ((t1 - t0) + (t2 - t3)) / 2     how far the server's clock is ahead of this one
//   delay  = (t3 - t0) - (t2 - t1)           the round trip, minus the server's own time
// and keeps the offset of the sample with the lowest delay among the last `window` ones: queueing, GC pauses and a
// busy socket only ever add delay, so the fastest exchange is the most truthful. The offset's error is at most half
// that sample's delay, plus what the two clocks may have drifted apart since it was taken: like NTP's dispersion, a
// sample's delay counts as growing with its age (by 2 x `driftRate`), so an old exchange gives way to a fresh one
// that is almost as fast, and a reconnect adds samples without throwing away a good one taken on a busy socket's
// quiet moment.
//
//   import { ServerClock, socketTransport, PlaybackFollower, positionAt } from './clock-sync.mjs';
//   const clock = new ServerClock(socketTransport(supabase.realtime));
//   await clock.start();                        // a burst of samples, then one a second, then one a minute
//   clock.serverNow();                          // epoch ms on the server's clock
//
// The DJ publishes `{songId, positionMs, isPlaying, atServerMs: clock.serverNow()}` as `playback:sync`; a listener
// hands each one to a PlaybackFollower, which says when to start, where to seek, and when drift needs a correction.
// Works in Node 20+ and in browsers; it needs nothing but what supabase-js already has.

/** Wall-clock milliseconds with sub-millisecond resolution where the platform has it. */
export function localNow() {
  return performance.timeOrigin + performance.now();
}

/**
 * Samples the server clock over the supabase-js socket: a `clock` push on the `phoenix` topic, its reply matched by
 * ref. Uses realtime-js's socket (its `push`, `_makeRef` and message callbacks), so it needs the socket connected;
 * supabase-js connects it with the first channel subscription.
 */
export function socketTransport(realtime, { timeoutMs = 5000 } = {}) {
  const waiting = new Map();
  let listening = false;
  const listen = () => {
    if (listening) return;
    listening = true;
    realtime.socketAdapter.onMessage((msg) => {
      if (msg.topic !== 'phoenix' || msg.event !== 'phx_reply') return;
      const w = waiting.get(msg.ref);
      if (w) {
        waiting.delete(msg.ref);
        w(msg.payload);
      }
    });
  };
  return (t0) => new Promise((resolve, reject) => {
    listen();
    const ref = realtime._makeRef();
    const timer = setTimeout(() => {
      waiting.delete(ref);
      reject(new Error('no clock reply within ' + timeoutMs + ' ms'));
    }, timeoutMs);
    waiting.set(ref, (payload) => {
      clearTimeout(timer);
      if (payload?.status === 'ok') resolve(payload.response);
      else reject(new Error('clock refused: ' + JSON.stringify(payload?.response)));
    });
    realtime.push({ topic: 'phoenix', event: 'clock', payload: { t0 }, ref });
  });
}

/** Samples the server clock over HTTP: `GET <url>/realtime/v1/api/time` (keep-alive makes the later ones fast). */
export function httpTransport(url, { apikey, fetchFn = fetch } = {}) {
  const endpoint = url.replace(/\/$/, '') + '/realtime/v1/api/time';
  return async () => {
    const res = await fetchFn(endpoint, { headers: apikey ? { apikey } : {} });
    if (!res.ok) throw new Error(`GET ${endpoint} answered ${res.status}`);
    return res.json();
  };
}

/** The server's clock as seen from here: the lowest-delay sample of a sliding window. */
export class ServerClock {
  /**
   * @param transport  t0 => Promise<{t1, t2}> (socketTransport or httpTransport)
   * @param now        this side's clock, epoch ms (default: localNow)
   * @param window     samples kept; the best of them gives the offset (8, as Jellyfin's SyncPlay keeps)
   * @param burst      samples taken back to back by start() and resync()
   * @param fastMs     the interval for the first `fastCount` samples after a burst, then `slowMs`
   * @param driftRate  how fast two device clocks may drift apart (1e-4: 100 ppm, ten times a typical crystal)
   */
  constructor(transport, {
    now = localNow, window = 8, burst = 5, fastMs = 1000, fastCount = 10, slowMs = 60_000, driftRate = 1e-4,
  } = {}) {
    Object.assign(this, { transport, now, window, burst, fastMs, fastCount, slowMs, driftRate });
    this.samples = [];
    this.best = null;
    this.timer = null;
    this.sinceBurst = 0;
  }

  /** One exchange; returns the sample {offset, delay, at}. */
  async sample() {
    const t0 = this.now();
    const { t1, t2 } = await this.transport(t0);
    const t3 = this.now();
    const s = { offset: ((t1 - t0) + (t2 - t3)) / 2, delay: (t3 - t0) - (t2 - t1), at: t3 };
    this.samples.push(s);
    if (this.samples.length > this.window) this.samples.shift();
    this.pickBest(t3);
    return s;
  }

  /** The sample whose delay, aged to `now`, is the lowest. */
  pickBest(now = this.now()) {
    const aged = (x) => x.delay + 2 * this.driftRate * (now - x.at);
    this.best = this.samples.reduce((a, b) => (aged(b) < aged(a) ? b : a));
    this.bestAged = aged(this.best);
  }

  /** Whether at least one sample was taken. */
  get ready() {
    return this.best !== null;
  }

  /** How far the server's clock is ahead of this one, in ms (0 before the first sample). */
  get offset() {
    return this.best ? this.best.offset : 0;
  }

  /** The bound on the offset's error: half the best sample's round trip, aged as of its last sample. */
  get errorBound() {
    return this.best ? Math.max(0, this.bestAged) / 2 : Infinity;
  }

  /** Now on the server's clock, epoch ms. */
  serverNow() {
    return this.now() + this.offset;
  }

  /**
   * A burst of samples (after a reconnect, or when a hidden page is shown again), then fast sampling again. Earlier
   * samples stay in the window: a burst on a busy network must not replace a good estimate with a poor one, and aging
   * retires them once fresh ones are as good.
   */
  async resync() {
    this.sinceBurst = 0;
    for (let i = 0; i < this.burst; i++) {
      await this.sample();
    }
  }

  /** resync(), then samples on their own: every fastMs for a while, then every slowMs. Resolves once ready. */
  async start() {
    await this.resync();
    const next = () => {
      const ms = this.sinceBurst < this.fastCount ? this.fastMs : this.slowMs;
      this.timer = setTimeout(async () => {
        this.sinceBurst++;
        try {
          await this.sample();
        } catch {
          // a sample lost to a reconnect: the next one comes anyway
        }
        if (this.timer) next();
      }, ms);
      this.timer.unref?.();
    };
    next();
    if (typeof document !== 'undefined') {
      this.onVisible = () => document.visibilityState === 'visible' && this.resync().catch(() => {});
      document.addEventListener('visibilitychange', this.onVisible);
    }
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.onVisible) document.removeEventListener('visibilitychange', this.onVisible);
  }
}

/**
 * Where a song is at server time `serverMs`, from the DJ's `{positionMs, isPlaying, atServerMs}`: it stays at
 * `positionMs` until `atServerMs` (a DJ may schedule a start slightly ahead, so every listener starts together) and
 * moves with server time after it.
 */
export function positionAt(state, serverMs) {
  if (!state) return 0;
  return state.isPlaying ? state.positionMs + Math.max(0, serverMs - state.atServerMs) : state.positionMs;
}

/**
 * Follows the DJ's playback. Hand it each `playback:sync` payload (`update`), and the player's own position on each
 * animation frame or timer tick (`check`): it calls `seek(ms)` when the player is off by more than `thresholdMs` (or
 * the song changed), `play(atLocalMs)` with the local instant at which the server reaches the DJ's start, and `pause()`.
 * Seeking is the only correction: changing the rate is audible on music.
 */
export class PlaybackFollower {
  constructor(clock, { thresholdMs = 40, seek = () => {}, play = () => {}, pause = () => {} } = {}) {
    Object.assign(this, { clock, thresholdMs, seek, play, pause });
    this.state = null;
  }

  /** Where the song is now on the server's clock. */
  expectedPosition() {
    return positionAt(this.state, this.clock.serverNow());
  }

  update(state) {
    const previous = this.state;
    this.state = state;
    if (!state.isPlaying) {
      this.pause();
      this.seek(state.positionMs);
      return;
    }
    if (!previous || previous.songId !== state.songId || !previous.isPlaying) {
      const startsIn = state.atServerMs - this.clock.serverNow();
      this.seek(this.expectedPosition());
      this.play(this.clock.now() + Math.max(0, startsIn));
    }
  }

  /**
   * The player's position now; returns the drift (expected minus actual), after seeking when it is larger than the
   * threshold and than the clock's own error bound (a correction smaller than what the clock may be wrong by would
   * only move the player around).
   */
  check(actualMs) {
    if (!this.state || !this.state.isPlaying) return 0;
    const drift = this.expectedPosition() - actualMs;
    if (Math.abs(drift) > Math.max(this.thresholdMs, this.clock.errorBound ?? 0)) this.seek(this.expectedPosition());
    return drift;
  }
}
