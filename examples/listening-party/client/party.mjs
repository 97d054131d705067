// A listening-party client on the unmodified supabase-js:
//   chat      -> Broadcast on the channel party:<PARTY_ID> (event "chat"), through history.mjs: where the runtime keeps
//                history for party:* topics (RealtimeCluster spec.history), a reconnect replays what was missed, each
//                message once; elsewhere chat is live only
//   playback  -> the DJ's "playback:sync" broadcasts; a late joiner gets the latest one at once (spec.history.latestEvents)
//   listeners -> Presence on the same channel (one key per listener)
//   votes     -> Postgres Changes on public.votes for this party (rows inserted by your backend or app)
//
// Configuration (environment):
//   REALTIME_URL  where the runtime answers, e.g. http://localhost:4000 (default); supabase-js adds /realtime/v1
//   ANON_KEY      the tenant's anon key (node keys.mjs prints one)              required
//   USER_TOKEN    a signed-in user's token (optional; sent with setAuth)
//   PARTY_ID      the party's sessions.id (uuid)        default 00000000-0000-0000-0000-000000000042
//   LISTENER      this listener's presence key          default listener-<random>
//   SAY           a chat message to send once joined    optional
//   CHAT_EVERY_MS then send numbered chat messages ({from, text, seq}) this often, CHAT_COUNT of them (default 100),
//                 printing each send's result: a chatty listener, or a publisher whose losses can be counted
//   RUN_SECONDS   leave and exit after this many seconds (default: run until Ctrl-C)
//
// Every event is printed as one line of JSON, easy to read and to grep.
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { randomUUID } from 'node:crypto';
import { followHistory } from './history.mjs';

const env = process.env;
const url = env.REALTIME_URL ?? 'http://localhost:4000';
const anonKey = env.ANON_KEY;
const partyId = env.PARTY_ID ?? '00000000-0000-0000-0000-000000000042';
const listener = env.LISTENER ?? `listener-${randomUUID().slice(0, 8)}`;
const runSeconds = env.RUN_SECONDS ? Number(env.RUN_SECONDS) : undefined;
const chatEveryMs = env.CHAT_EVERY_MS ? Number(env.CHAT_EVERY_MS) : undefined;
const chatCount = env.CHAT_COUNT ? Number(env.CHAT_COUNT) : 100;

if (!anonKey) {
  console.error('ANON_KEY is not set: run `JWT_SECRET=... node keys.mjs` and export the ANON_KEY it prints');
  process.exit(2);
}

const log = (event, fields) => console.log(JSON.stringify({ event, ...fields }));

// Node 20 has no global WebSocket: hand supabase-js the `ws` one (browsers and Node 22+ need nothing).
const supabase = createClient(url, anonKey, {
  realtime: { transport: WebSocket },
  auth: { persistSession: false, autoRefreshToken: false },
});
if (env.USER_TOKEN) {
  await supabase.realtime.setAuth(env.USER_TOKEN);
}

const party = supabase.channel(`party:${partyId}`, {
  config: { broadcast: { self: true }, presence: { key: listener } },
});

// the only broadcast listener: it drops what a replay repeats and dispatches on the event
const history = followHistory(party, {
  onMessage: ({ event, payload, meta }) => {
    if (event === 'chat') log('chat', { ...payload, at: meta?.at, replayed: meta?.replayed === true });
    else if (event === 'playback:sync') log('playback', { ...payload, latest: meta?.latest === true });
  },
  onReplayed: ({ replayed, complete }) => log('replayed', { replayed, complete }),
  onGap: () => log('history_gap', { hint: 'missed more than the server keeps: refetch from the tables' }),
  onUnavailable: () => log('history', { status: 'off', hint: 'this runtime keeps no history for party:* topics' }),
});

party
  .on('presence', { event: 'sync' }, () => {
    const listeners = Object.keys(party.presenceState()).sort();
    log('listeners', { count: listeners.length, listeners });
  })
  .on('presence', { event: 'join' }, ({ key }) => log('joined', { listener: key }))
  .on('presence', { event: 'leave' }, ({ key }) => log('left', { listener: key }))
  .on('postgres_changes',
    { event: '*', schema: 'public', table: 'votes', filter: `session_id=eq.${partyId}` },
    (change) => log('vote', { type: change.eventType, vote: change.new, old: change.old }))
  .on('system', {}, (msg) => {
    if (msg?.extension === 'postgres_changes') log('votes_stream', { status: msg.status, message: msg.message });
  });
history
  .subscribe(async (status, err) => {
    log('status', { status, error: err?.message, since: history.since });
    if (status === 'SUBSCRIBED') {
      await party.track({ listener, online_at: new Date().toISOString() });
      if (env.SAY) {
        await party.send({ type: 'broadcast', event: 'chat', payload: { from: listener, text: env.SAY } });
      }
      if (chatEveryMs !== undefined && !chatting) {
        chatting = true;
        chat(0);
      }
    }
  });

// Sends message `seq` and schedules the next one on a fixed timetable, whatever the socket is doing: while it
// reconnects, supabase-js sends through the REST broadcast endpoint instead.
let chatting = false;
const chatStart = Date.now();
function chat(seq) {
  if (seq >= chatCount) {
    log('chat_done', { sent: seq });
    return;
  }
  setTimeout(() => chat(seq + 1), Math.max(0, chatStart + (seq + 1) * chatEveryMs - Date.now()));
  party.send({ type: 'broadcast', event: 'chat', payload: { from: listener, text: `message ${seq}`, seq } })
    .then((result) => log('sent', { seq, result }), (e) => log('sent', { seq, result: 'error', error: e?.message }));
}

async function leave(code) {
  await party.untrack().catch(() => {});
  await supabase.removeAllChannels();
  process.exit(code);
}
process.on('SIGINT', () => leave(0));
process.on('SIGTERM', () => leave(0));
if (runSeconds !== undefined) {
  setTimeout(() => leave(0), runSeconds * 1000);
}
