// Clock-sync error on loopback (issue 17's measurement). The runtime and this script share one clock, so the true
// offset is 0: each estimate's offset is its error. 1,000 syncs with the socket idle, then 1,000 while the same
// socket receives RATE broadcasts a second (REST batches published by this script).
//
//   node bench/clock-sync/measure.mjs http://127.0.0.1:4000 <anon key> [RATE=1000] [SYNCS=1000]
//
// Prints p50/p99/max of |offset| for single samples and for the helper's estimate (best of the last 8), and the
// helper's own error bound (half the best sample's round trip).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ServerClock, socketTransport } from '../../examples/listening-party/client/clock-sync.mjs';

const require = createRequire(fileURLToPath(new URL('../../realtime-runtime/src/test/js/package.json', import.meta.url)));
const { createClient } = require('@supabase/supabase-js');
const WebSocket = require('ws');

const [url, key, rateArg, syncsArg] = process.argv.slice(2);
const rate = Number(rateArg ?? 1000);
const syncs = Number(syncsArg ?? 1000);
if (!url || !key) {
  console.error('usage: node bench/clock-sync/measure.mjs <url> <anon key> [rate] [syncs]');
  process.exit(2);
}

const supabase = createClient(url, key, { realtime: { transport: WebSocket } });
const topic = 'clock-bench-' + Date.now();
let received = 0;
const channel = supabase.channel(topic).on('broadcast', { event: 'load' }, () => { received++; });
await new Promise((resolve, reject) => channel.subscribe((s) => (s === 'SUBSCRIBED' ? resolve() : s !== 'CLOSED' && reject(new Error(s)))));

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
async function run(label) {
  const clock = new ServerClock(socketTransport(supabase.realtime), { window: 8 });
  const single = [];
  const estimate = [];
  const bounds = [];
  for (let i = 0; i < syncs; i++) {
    const s = await clock.sample();
    single.push(Math.abs(s.offset));
    estimate.push(Math.abs(clock.offset));
    bounds.push(clock.errorBound);
  }
  const fmt = (xs) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return `p50 ${pct(sorted, 0.5).toFixed(3)} ms, p99 ${pct(sorted, 0.99).toFixed(3)} ms, max ${sorted.at(-1).toFixed(3)} ms`;
  };
  console.log(`${label}: ${syncs} syncs`);
  console.log(`  single sample |offset|: ${fmt(single)}`);
  console.log(`  estimate (best of 8) |offset|: ${fmt(estimate)}`);
  console.log(`  error bound (half the best round trip): ${fmt(bounds)}`);
}

await run('idle socket');

// load: batches of 10 every 10 ms through the REST API to the channel this socket is on
let sent = 0;
const headers = { apikey: key, 'content-type': 'application/json' };
const perTick = Math.max(1, Math.round(rate / 100));
const body = JSON.stringify({ messages: Array.from({ length: perTick }, (_, i) => ({ topic, event: 'load', payload: { i } })) });
const load = setInterval(() => {
  sent += perTick;
  fetch(url + '/realtime/v1/api/broadcast', { method: 'POST', headers, body }).catch(() => {});
}, 10);
await new Promise((r) => setTimeout(r, 2000));
const before = received;
const t = Date.now();
await run(`socket receiving ${rate} msgs/s`);
const secs = (Date.now() - t) / 1000;
clearInterval(load);
console.log(`  (the socket received ${Math.round((received - before) / secs)} msgs/s during the syncs)`);
await supabase.removeAllChannels();
process.exit(0);
