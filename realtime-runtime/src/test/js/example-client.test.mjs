// The listening-party example (examples/listening-party/) run for real against the built runtime, the way
// docs/kubernetes.md's local quick start tells a user to: the runtime standalone with its embedded PostgreSQL,
// schema.sql applied as committed, `node keys.mjs` for the anon key, then `node party.mjs` as a child process
// with the environment it documents. A second supabase-js client (this file's) chats and joins presence, rows
// are written through `pg`, and the example client's output (one JSON line per event) must show them all.
//
// The example client resolves its imports from examples/listening-party/client/node_modules: when that folder
// is missing this test runs `npm ci` there (from the client's committed lock file). NODE_PATH would not do:
// Node's ES module resolution ignores it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  startServer, freePort, makeClient, subscribed, closeAll, waitFor, broadcast,
} from './harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const EXAMPLE = resolve(HERE, '..', '..', '..', '..', 'examples', 'listening-party');
const CLIENT_DIR = resolve(EXAMPLE, 'client');
/** Upper bound of the example client's life (RUN_SECONDS): it leaves by itself even if this test dies. */
const CLIENT_RUN_SECONDS = 120;

/** `npm ci` in the client folder unless its dependencies are already installed. */
function ensureClientDependencies() {
  const installed = ['@supabase/supabase-js', 'ws']
    .every((d) => existsSync(resolve(CLIENT_DIR, 'node_modules', d, 'package.json')));
  if (installed) return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: CLIENT_DIR, encoding: 'utf8', timeout: 300_000,
  });
  if (r.status !== 0) {
    throw new Error(`npm ci in ${CLIENT_DIR} failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n`
      + `${r.stdout}\n${r.stderr}`);
  }
}

/** Runs `node keys.mjs` as the docs do and parses its `NAME=value` lines. */
function clientKeys(env) {
  const r = spawnSync(process.execPath, ['keys.mjs'], {
    cwd: CLIENT_DIR, encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env },
  });
  assert.equal(r.status, 0, `node keys.mjs failed: ${r.stderr}`);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1)];
  }));
}

/**
 * Starts `node party.mjs` in the client folder. Returns {events (parsed JSON lines, in order), output(),
 * exited (promise of {code, signal}), kill(signal)}.
 */
function runParty(env) {
  const child = spawn(process.execPath, ['party.mjs'], {
    cwd: CLIENT_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events = [];
  let out = '';
  let partial = '';
  child.stdout.on('data', (chunk) => {
    const text = chunk.toString();
    out += text;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop();
    for (const line of lines) {
      try {
        events.push(JSON.parse(line));
      } catch {
        // not an event line; kept in out for failure messages
      }
    }
  });
  child.stderr.on('data', (chunk) => { out += chunk.toString(); });
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  let exit = null;
  exited.then((e) => { exit = e; });
  return {
    events,
    output: () => out,
    exited,
    get exit() { return exit; },
    kill(signal = 'SIGTERM') {
      if (exit === null) child.kill(signal);
    },
  };
}

describe('the listening-party example client', { concurrency: false }, () => {
  let server;
  let db;
  let dbPort;
  const clients = [];
  const parties = [];

  before(async () => {
    ensureClientDependencies();
    dbPort = await freePort();
    server = await startServer({ REALTIME_DB_URL: '', REALTIME_EMBEDDED_DB_PORT: dbPort });
    db = new pg.Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${dbPort}/postgres` });
    await db.connect();
    await waitFor(async () => (await db.query(
      "SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime'")).rowCount === 1, 30_000, 'provisioned publication');
    // schema.sql exactly as committed (it has its own begin/commit).
    await db.query(readFileSync(resolve(EXAMPLE, 'schema.sql'), 'utf8'));
  });

  after(async () => {
    for (const p of parties) p.kill('SIGKILL');
    await closeAll(clients);
    await db?.end();
    await server?.stop();
  });

  it('schema.sql adds the app tables to the publication', async () => {
    const { rows } = await db.query(
      "SELECT tablename FROM pg_publication_tables WHERE pubname = 'supabase_realtime' AND schemaname = 'public' ORDER BY 1");
    assert.deepEqual(rows.map((r) => r.tablename), ['chat_messages', 'sessions', 'song_queue', 'tips', 'votes']);
  });

  it('refuses to start without ANON_KEY and says how to get one', async () => {
    const env = { ...process.env };
    delete env.ANON_KEY;
    const r = spawnSync(process.execPath, ['party.mjs'], { cwd: CLIENT_DIR, encoding: 'utf8', timeout: 30_000, env });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /ANON_KEY is not set/);
  });

  it('shows chat (broadcast), listeners (presence) and votes (Postgres Changes)', async () => {
    const partyId = randomUUID();
    const hostId = randomUUID();
    await db.query('INSERT INTO public.sessions (id, host_id, title) VALUES ($1, $2, $3)', [partyId, hostId, 'Friday night']);

    const { ANON_KEY } = clientKeys({ JWT_SECRET: server.secret });
    assert.ok(ANON_KEY, 'keys.mjs printed ANON_KEY');

    const party = runParty({
      REALTIME_URL: server.url,
      ANON_KEY,
      PARTY_ID: partyId,
      LISTENER: 'anna',
      SAY: 'hello from anna',
      RUN_SECONDS: String(CLIENT_RUN_SECONDS),
    });
    parties.push(party);
    const seen = (pred, what, timeoutMs = 20_000) => waitFor(() => {
      if (party.exit) throw new Error(`party.mjs exited early: ${JSON.stringify(party.exit)}`);
      return party.events.find(pred);
    }, timeoutMs, `${what} in party.mjs output:\n${party.output()}`);

    await seen((e) => e.event === 'status' && e.status === 'SUBSCRIBED', 'status SUBSCRIBED');
    const stream = await seen((e) => e.event === 'votes_stream', 'votes_stream');
    assert.equal(stream.status, 'ok', `votes stream: ${JSON.stringify(stream)}`);
    // its own SAY comes back (broadcast self: true) and it sees itself listening
    await seen((e) => e.event === 'chat' && e.from === 'anna' && e.text === 'hello from anna', 'own chat message');
    await seen((e) => e.event === 'listeners' && e.listeners.includes('anna'), 'anna in listeners');

    // a second listener, with the plain supabase-js API the example uses
    const ben = makeClient(server, { key: ANON_KEY });
    clients.push(ben);
    const room = ben.channel(`party:${partyId}`, { config: { presence: { key: 'ben' } } });
    await subscribed(room);
    await room.track({ listener: 'ben', online_at: new Date().toISOString() });
    const listeners = await seen((e) => e.event === 'listeners' && e.count === 2, 'two listeners');
    assert.deepEqual(listeners.listeners, ['anna', 'ben']);
    await seen((e) => e.event === 'joined' && e.listener === 'ben', 'ben joined');

    await broadcast(room, 'chat', { from: 'ben', text: 'hi anna' });
    await seen((e) => e.event === 'chat' && e.from === 'ben' && e.text === 'hi anna', "ben's chat message");

    // a vote, written as the backend would (the owner bypasses RLS); the anon client may read votes
    const { rows: [song] } = await db.query(
      'INSERT INTO public.song_queue (session_id, added_by, title, position) VALUES ($1, $2, $3, 1) RETURNING id',
      [partyId, hostId, 'Song A']);
    const voter = randomUUID();
    await db.query('INSERT INTO public.votes (session_id, song_id, user_id, value) VALUES ($1, $2, $3, 1)',
      [partyId, song.id, voter]);
    const vote = await seen((e) => e.event === 'vote' && e.type === 'INSERT', 'vote INSERT');
    assert.equal(vote.vote.session_id, partyId);
    assert.equal(String(vote.vote.song_id), String(song.id));
    assert.equal(vote.vote.user_id, voter);
    assert.equal(vote.vote.value, 1);

    // the filter session_id=eq.<party> keeps other parties' votes out
    const otherParty = randomUUID();
    await db.query('INSERT INTO public.sessions (id, host_id, title) VALUES ($1, $2, $3)', [otherParty, hostId, 'Other']);
    const { rows: [otherSong] } = await db.query(
      'INSERT INTO public.song_queue (session_id, added_by, title, position) VALUES ($1, $2, $3, 1) RETURNING id',
      [otherParty, hostId, 'Song B']);
    await db.query('INSERT INTO public.votes (session_id, song_id, user_id, value) VALUES ($1, $2, $3, -1)',
      [otherParty, otherSong.id, voter]);
    await db.query('UPDATE public.votes SET value = -1 WHERE session_id = $1 AND user_id = $2', [partyId, voter]);
    const update = await seen((e) => e.event === 'vote' && e.type === 'UPDATE', 'vote UPDATE');
    assert.equal(update.vote.value, -1);
    assert.equal(update.vote.session_id, partyId);
    assert.ok(party.events.filter((e) => e.event === 'vote').every((e) => e.vote.session_id === partyId),
      'only this party\'s votes');

    // ben leaves: anna sees it
    await closeAll(clients);
    await seen((e) => e.event === 'left' && e.listener === 'ben', 'ben left');
    await seen((e) => e.event === 'listeners' && e.count === 1 && party.events.indexOf(e) > party.events.indexOf(listeners),
      'one listener again');

    // Ctrl-C / SIGTERM: it untracks, leaves and exits 0
    party.kill('SIGTERM');
    const exit = await Promise.race([party.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
    assert.deepEqual(exit, { code: 0, signal: null }, `exit after SIGTERM; output:\n${party.output()}`);
  });

  it('leaves by itself after RUN_SECONDS', async () => {
    const partyId = randomUUID();
    await db.query('INSERT INTO public.sessions (id, host_id, title) VALUES ($1, $2, $3)', [partyId, randomUUID(), 'Short']);
    const { ANON_KEY } = clientKeys({ JWT_SECRET: server.secret });
    const watcher = makeClient(server, { key: ANON_KEY });
    clients.push(watcher);
    const room = watcher.channel(`party:${partyId}`, { config: { presence: { key: 'watcher' } } });
    const leaves = [];
    room.on('presence', { event: 'leave' }, ({ key }) => leaves.push(key));
    await subscribed(room);

    const started = Date.now();
    const party = runParty({
      REALTIME_URL: server.url, ANON_KEY, PARTY_ID: partyId, LISTENER: 'carla', RUN_SECONDS: '3',
    });
    parties.push(party);
    await waitFor(() => Object.keys(room.presenceState()).includes('carla'), 20_000,
      `carla in presence; party.mjs output:\n${party.output()}`);
    const exit = await Promise.race([party.exited, new Promise((r) => setTimeout(() => r('timeout'), 30_000))]);
    assert.deepEqual(exit, { code: 0, signal: null }, `exit after RUN_SECONDS; output:\n${party.output()}`);
    assert.ok(Date.now() - started >= 3000, 'ran at least RUN_SECONDS');
    await waitFor(() => leaves.includes('carla'), 10_000, 'carla left presence');
    await closeAll(clients);
  });
});
