// History measurements (issue 16's): how long a replay of 1,000 messages takes, and what a listener who was away
// recovers. Needs a runtime with a database and REALTIME_HISTORY_TOPICS covering `party:*`.
//
//   node bench/history/measure.mjs <url> <anon key> [AWAY_SECONDS=30] [RATE=20] [REPLAYS=5]
//
// 1. Replay: 1,000 messages are published over REST to a fresh topic; then REPLAYS times, a new supabase-js client
//    joins with replay since before the first, and the time from subscribe() to the replay summary is measured
//    (the first replay reads the database when this pod's memory does not cover `since`; the rest as well, since
//    a topic's ring holds 256). Also once with since inside the ring (the newest 200): served from memory.
// 2. Recovery: a listener (examples/listening-party/client/history.mjs) follows a topic while a publisher sends
//    RATE numbered messages a second over REST; the listener's socket is cut and it stays away AWAY_SECONDS (its
//    reconnect delay), then rejoins; the publisher goes on for 5 s more. Prints sent, received, missed, duplicated
//    and how many came by replay.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { followHistory } from '../../examples/listening-party/client/history.mjs';

const require = createRequire(fileURLToPath(new URL('../../realtime-runtime/src/test/js/package.json', import.meta.url)));
const { createClient } = require('@supabase/supabase-js');
const WebSocket = require('ws');

const [url, key, awayArg, rateArg, replaysArg] = process.argv.slice(2);
const awaySeconds = Number(awayArg ?? 30);
const rate = Number(rateArg ?? 20);
const replays = Number(replaysArg ?? 5);
if (!url || !key) {
  console.error('usage: node bench/history/measure.mjs <url> <anon key> [away seconds] [rate] [replays]');
  process.exit(2);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function publish(topic, messages) {
  for (let i = 0; i < messages.length; i += 500) {
    const res = await fetch(`${url}/api/broadcast`, {
      method: 'POST',
      headers: { apikey: key, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: messages.slice(i, i + 500).map((m) => ({ topic, ...m })) }),
    });
    if (res.status !== 202) throw new Error(`REST broadcast answered ${res.status}: ${await res.text()}`);
  }
}

function client(options = {}) {
  return createClient(url, key, { realtime: { transport: WebSocket, ...options } });
}

async function close(c) {
  await c.removeAllChannels();
  c.realtime.disconnect();
}

/** Joins `topic` replaying since `since`; resolves with ms from subscribe() to the summary, and the summary. */
async function timeReplay(topic, since) {
  const c = client();
  let got = 0;
  const start = performance.now();
  const summary = await new Promise((resolve, reject) => {
    const party = followHistory(c.channel(topic), {
      since, limit: 1000, onMessage: () => { got++; }, onReplayed: resolve,
    });
    party.subscribe((s, err) => { if (s === 'CHANNEL_ERROR' || s === 'TIMED_OUT') reject(err ?? new Error(s)); });
  });
  const ms = performance.now() - start;
  await close(c);
  return { ms, got, replayed: summary.replayed, complete: summary.complete };
}

// ---- 1. replay of 1,000
const topic = `party:bench-replay-${Date.now()}`;
const before = Date.now() - 1;
await publish(topic, Array.from({ length: 1000 }, (_, i) => ({ event: 'chat', payload: { seq: i, text: `message ${i} of the replay bench` } })));
await sleep(1500); // stored (batch interval) before the first replay
const times = [];
for (let i = 0; i < replays; i++) {
  const r = await timeReplay(topic, before);
  times.push(r.ms);
  console.log(`replay of ${r.replayed} (complete ${r.complete}, ${r.got} received): ${r.ms.toFixed(1)} ms`);
}
times.sort((a, b) => a - b);
console.log(`replay of 1,000 from the database: median ${times[Math.floor(times.length / 2)].toFixed(1)} ms, ` +
  `min ${times[0].toFixed(1)} ms, max ${times[times.length - 1].toFixed(1)} ms`);

// a topic whose every message is in this pod's ring (250 of 256): served from memory when the runtime started more
// than a second before `before`
const ringTopic = `party:bench-ring-${Date.now()}`;
await publish(ringTopic, Array.from({ length: 250 }, (_, i) => ({ event: 'chat', payload: { seq: i } })));
const ring = [];
for (let i = 0; i < replays; i++) {
  ring.push(await timeReplay(ringTopic, before));
}
ring.sort((a, b) => a.ms - b.ms);
console.log(`replay of ${ring[0].replayed} from memory: median ${ring[Math.floor(ring.length / 2)].ms.toFixed(1)} ms, ` +
  `min ${ring[0].ms.toFixed(1)} ms, max ${ring[ring.length - 1].ms.toFixed(1)} ms`);

// ---- 2. away AWAY_SECONDS while RATE msgs/s flow
const live = `party:bench-away-${Date.now()}`;
const listener = client({ reconnectAfterMs: () => awaySeconds * 1000 });
const seen = new Map();
let duplicates = 0;
let replayed = 0;
const summaries = [];
const party = followHistory(listener.channel(live), {
  onMessage: (m) => {
    const seq = m.payload.seq;
    if (seen.has(seq)) duplicates++;
    seen.set(seq, m.meta?.replayed === true);
    if (m.meta?.replayed) replayed++;
  },
  onReplayed: (s) => summaries.push(s),
});
await new Promise((resolve) => party.subscribe((s) => s === 'SUBSCRIBED' && resolve()));
let sent = 0;
let publishing = true;
const publisher = (async () => {
  const start = Date.now();
  while (publishing) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    const batch = [];
    while (sent < due) batch.push({ event: 'chat', payload: { seq: sent++ } });
    if (batch.length) await publish(live, batch);
    await sleep(10);
  }
})();
await sleep(3000);
listener.realtime.socketAdapter.getSocket().conn.terminate();
const cutAt = sent;
console.log(`listener cut at message ${cutAt}; away ${awaySeconds} s`);
await new Promise((resolve) => {
  const check = setInterval(() => { if (summaries.length >= 2) { clearInterval(check); resolve(); } }, 100);
});
await sleep(5000);
publishing = false;
await publisher;
await sleep(1000);
const missed = [];
for (let s = 0; s < sent; s++) if (!seen.has(s)) missed.push(s);
console.log(`away ${awaySeconds} s at ${rate} msgs/s: sent ${sent}, received ${seen.size}, missed ${missed.length}` +
  `${missed.length ? ` (${missed.slice(0, 10).join(',')}${missed.length > 10 ? ',…' : ''})` : ''}, duplicates ` +
  `${duplicates}, recovered by replay ${replayed}, helper dropped ${party.stats.duplicates}; summary ` +
  JSON.stringify(summaries[1]));
await close(listener);
process.exit(0);
