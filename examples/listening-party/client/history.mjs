// Gapless broadcasts for listening parties, with the unmodified supabase-js.
//
// On topics the runtime keeps history for (REALTIME_HISTORY_TOPICS, PROTOCOL.md "History, recovery and latest
// values"), every broadcast carries `meta.id` and `meta.at`, and a join may ask for a replay of everything since a
// time. This module wraps one channel so that the app sees each message once, whatever the network does:
//   - it remembers the newest `meta.at` it has seen;
//   - every join (the first and each automatic rejoin after a reconnect) asks for a replay since then;
//   - it drops messages whose `meta.id` it has already handed over (a replayed message that also arrived live);
//   - when the server says the replay was incomplete (`complete: false`: away longer than the retention, or more
//     messages than the replay maximum), it calls `onGap`, so the app can refetch what it shows from its tables.
// Latest values (`meta.latest`, e.g. the DJ's `playback:sync`) come through `onMessage` like any other message.
//
//   import { followHistory } from './history.mjs';
//   const channel = supabase.channel('party:42', { config: { broadcast: { self: true } } });
//   const party = followHistory(channel, {
//     since: Date.now() - 60_000,            // also replay the last minute on the first join
//     onMessage: (m) => render(m.event, m.payload, m.meta),
//     onGap: (summary) => refetchChat(),
//   });
//   party.subscribe((status) => console.log(status));
//
// The helper must be the channel's only broadcast listener: dispatch on `m.event` in `onMessage`.
// supabase-js refuses `replay` in the options of a public channel, so the helper sets it on the channel after
// creating it (realtime-js sends the channel's `params.config` with every join).

/**
 * Follows a channel's broadcasts without gaps or duplicates across rejoins.
 *
 * @param {object} channel a supabase-js RealtimeChannel, not subscribed yet
 * @param {object} options
 * @param {number} [options.since]   epoch ms: what the first join replays from (default: now, so nothing old)
 * @param {number} [options.limit]   the most messages one replay may send (the server clamps it to its maximum)
 * @param {(m: {event: string, payload: any, meta?: object}) => void} options.onMessage each message, once
 * @param {(summary: object) => void} [options.onGap] the server could not replay everything that was missed
 * @param {(summary: object) => void} [options.onReplayed] every replay summary, complete or not
 * @param {(reason: string) => void} [options.onUnavailable] the server keeps no history for this topic: the helper
 *   goes on without replay (the channel joins again by itself) and messages arrive live only
 * @param {number} [options.rememberIds] how many ids are remembered to drop duplicates (default 10,000)
 */
export function followHistory(channel, {
  since = Date.now(), limit, onMessage, onGap, onReplayed, onUnavailable, rememberIds = 10_000,
} = {}) {
  if (typeof onMessage !== 'function') throw new TypeError('followHistory needs an onMessage callback');
  const replay = { since: Math.floor(since) };
  if (limit !== undefined) replay.limit = limit;
  channel.params.config.broadcast = channel.params.config.broadcast ?? {};
  channel.params.config.broadcast.replay = replay;

  const seen = new Set();
  const seenOrder = [];
  // between a join's reply and its replay summary, newer live messages may come before older replayed ones: the
  // replay point moves only once the summary says the replay is over
  let catchingUp = false;
  let newestDuringCatchUp = replay.since;
  let newestAt = replay.since;
  const stats = { delivered: 0, duplicates: 0, replays: 0, gaps: 0, unavailable: false };

  const advance = (at) => {
    if (typeof at !== 'number') return;
    if (catchingUp) {
      newestDuringCatchUp = Math.max(newestDuringCatchUp, at);
    } else if (at > newestAt) {
      newestAt = at;
      replay.since = Math.floor(at);
    }
  };

  channel.on('broadcast', { event: '*' }, (m) => {
    const meta = m.meta ?? {};
    if (meta.id) {
      if (seen.has(meta.id)) {
        stats.duplicates++;
        return;
      }
      seen.add(meta.id);
      seenOrder.push(meta.id);
      if (seenOrder.length > rememberIds) seen.delete(seenOrder.shift());
    }
    if (!meta.latest) advance(meta.at);
    stats.delivered++;
    onMessage(m);
  });

  channel.on('system', {}, (s) => {
    if (s?.extension !== 'broadcast' || typeof s.complete !== 'boolean') return;
    stats.replays++;
    if (catchingUp) {
      catchingUp = false;
      advance(newestDuringCatchUp);
    }
    onReplayed?.(s);
    if (!s.complete) {
      stats.gaps++;
      onGap?.(s);
    }
  });

  return {
    channel,
    /** Subscribes the channel; `callback` gets supabase-js's statuses. */
    subscribe(callback) {
      channel.subscribe((status, err) => {
        if (status === 'CHANNEL_ERROR' && /Replay is not allowed/.test(err?.message ?? '')) {
          // a topic without history: Supabase's refusal of replay on public channels; supabase-js joins again
          delete channel.params.config.broadcast.replay;
          stats.unavailable = true;
          onUnavailable?.(err.message);
          return;
        }
        if (status === 'SUBSCRIBED') {
          catchingUp = true;
          newestDuringCatchUp = newestAt;
        }
        callback?.(status, err);
      });
      return this;
    },
    /** The epoch ms the next join replays from. */
    get since() {
      return replay.since;
    },
    /** Messages handed over, duplicates dropped, replays finished, incomplete replays, and whether history is off. */
    get stats() {
      return { ...stats };
    },
  };
}
