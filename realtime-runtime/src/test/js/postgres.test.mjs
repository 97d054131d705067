// Postgres Changes, database broadcasts and replay: the real supabase-js against the runtime in
// standalone mode (its embedded PostgreSQL), with rows written through the `pg` driver.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import {
  startServer, freePort, makeClient, subscribed, closeAll, waitFor, uniqueName, userToken, collectBroadcasts, sleep,
  RawClient,
} from './harness.mjs';

const PUBLICATION = 'supabase_realtime';

/** Collects postgres_changes payloads and system messages of a channel. */
function track(channel, filter) {
  const got = [];
  channel.on('postgres_changes', filter, (p) => got.push(p));
  return got;
}

function systemMessages(channel) {
  const got = [];
  channel.on('system', {}, (m) => got.push(m));
  return got;
}

describe('postgres changes, database broadcasts and replay', { concurrency: false }, () => {
  let server;
  let db;
  const clients = [];

  before(async () => {
    const dbPort = await freePort();
    server = await startServer({ REALTIME_DB_URL: '', REALTIME_EMBEDDED_DB_PORT: dbPort });
    db = new pg.Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${dbPort}/postgres` });
    await db.connect();
    await waitFor(async () => (await db.query(
      "SELECT 1 FROM pg_publication WHERE pubname = $1", [PUBLICATION])).rowCount === 1, 30_000, 'provisioned publication');
    await db.query(`
      CREATE TYPE mood AS ENUM ('calm', 'hyped');
      CREATE TABLE public.songs (
        id bigint PRIMARY KEY, title text NOT NULL, votes int DEFAULT 0, score numeric(12,4), ratio float8,
        live boolean, tags text[], counts int[], meta jsonb, added_at timestamptz, day date, vibe mood,
        ref uuid, raw bytea);
      ALTER TABLE public.songs REPLICA IDENTITY FULL;
      CREATE TABLE public.chat (id serial PRIMARY KEY, room text, body text);
      ALTER PUBLICATION ${PUBLICATION} ADD TABLE public.songs, public.chat;
      CREATE POLICY "authenticated read" ON realtime.messages FOR SELECT TO authenticated USING (true);
      CREATE POLICY "authenticated write" ON realtime.messages FOR INSERT TO authenticated WITH CHECK (true);`);
  });

  after(async () => {
    await closeAll(clients);
    await db?.end();
    await server?.stop();
  });

  async function client(opts) {
    const c = makeClient(server, opts);
    clients.push(c);
    return c;
  }

  async function subscribedToPostgres(channel) {
    const sys = systemMessages(channel);
    await subscribed(channel);
    await waitFor(() => sys.some((m) => m.extension === 'postgres_changes'), 15_000, 'postgres_changes system message');
    const m = sys.find((x) => x.extension === 'postgres_changes');
    assert.equal(m.status, 'ok', `expected Subscribed to PostgreSQL, got ${JSON.stringify(m)}`);
    assert.equal(m.message, 'Subscribed to PostgreSQL');
    return sys;
  }

  it('streams INSERT, UPDATE and DELETE with typed values', async () => {
    const c = await client();
    const ch = c.channel(uniqueName('songs'));
    const got = track(ch, { event: '*', schema: 'public', table: 'songs' });
    await subscribedToPostgres(ch);
    await db.query(`INSERT INTO public.songs VALUES (1, 'Intro', 3, 12.5, 0.25, true, '{a,"b,c"}', '{1,2,NULL}',
      '{"bpm":120}', '2026-01-02 03:04:05.678+00', '2026-01-02', 'hyped', '6f1a8b7e-2f7e-4a5e-9d2b-0c7b0d3f1a11', '\\x0102')`);
    await db.query(`UPDATE public.songs SET votes = 4 WHERE id = 1`);
    await db.query(`DELETE FROM public.songs WHERE id = 1`);
    await waitFor(() => got.length >= 3, 10_000, 'three changes');
    const [ins, upd, del] = got;
    assert.equal(ins.eventType, 'INSERT');
    assert.equal(ins.schema, 'public');
    assert.equal(ins.table, 'songs');
    assert.match(ins.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(ins.old, {});
    const n = ins.new;
    assert.equal(n.id, 1);
    assert.equal(n.title, 'Intro');
    assert.equal(n.votes, 3);
    assert.equal(Number(n.score), 12.5);
    assert.equal(n.ratio, 0.25);
    assert.equal(n.live, true);
    assert.deepEqual(n.tags, ['a', 'b,c']);
    assert.deepEqual(n.counts, [1, 2, null]);
    assert.deepEqual(n.meta, { bpm: 120 });
    assert.ok(String(n.added_at).startsWith('2026-01-02T03:04:05.678'), n.added_at);
    assert.equal(n.day, '2026-01-02');
    assert.equal(n.vibe, 'hyped');
    assert.equal(n.ref, '6f1a8b7e-2f7e-4a5e-9d2b-0c7b0d3f1a11');
    assert.equal(upd.eventType, 'UPDATE');
    assert.equal(upd.new.votes, 4);
    assert.equal(upd.old.votes, 3, 'REPLICA IDENTITY FULL gives the old row');
    assert.equal(del.eventType, 'DELETE');
    assert.equal(del.old.id, 1);
    assert.deepEqual(del.new, {});
  });

  it('an UPDATE that leaves a TOASTed value alone carries it in record under REPLICA IDENTITY FULL, as Supabase does', async () => {
    await db.query(`
      CREATE TABLE public.toast_full (id int PRIMARY KEY, n int, big text);
      ALTER TABLE public.toast_full ALTER COLUMN big SET STORAGE EXTERNAL;
      ALTER TABLE public.toast_full REPLICA IDENTITY FULL;
      CREATE TABLE public.toast_default (id int PRIMARY KEY, n int, big text);
      ALTER TABLE public.toast_default ALTER COLUMN big SET STORAGE EXTERNAL;
      ALTER PUBLICATION ${PUBLICATION} ADD TABLE public.toast_full, public.toast_default;`);
    const c = await client();
    const ch = c.channel(uniqueName('toast'));
    const full = track(ch, { event: 'UPDATE', schema: 'public', table: 'toast_full' });
    const plain = track(ch, { event: 'UPDATE', schema: 'public', table: 'toast_default' });
    await subscribedToPostgres(ch);
    const big = 'x'.repeat(12_000);
    for (const t of ['toast_full', 'toast_default']) {
      await db.query(`INSERT INTO public.${t} VALUES (7, 1, $1)`, [big]);
      await db.query(`UPDATE public.${t} SET n = 2 WHERE id = 7`);
    }
    await waitFor(() => full.length === 1 && plain.length === 1, 10_000, 'both updates');
    assert.equal(full[0].new.n, 2);
    assert.equal(full[0].new.big?.length, 12_000, 'record takes the unchanged value from the old row');
    assert.equal(full[0].old.big?.length, 12_000);
    // under the default identity the old row has only the key: the value is nowhere to take from
    assert.deepEqual(Object.keys(plain[0].new).sort(), ['id', 'n']);
    assert.deepEqual(plain[0].old, { id: 7 });
  });

  it('reads a binding as Supabase does: an unknown event means every event, a missing schema means public', async () => {
    const r = await RawClient.open(server);
    clients.push(r);
    const { reply, topic } = await r.join(uniqueName('lenient'), {
      config: { postgres_changes: [{ event: 'whatever', table: 'chat' }] },
    });
    assert.equal(reply.payload.status, 'ok', JSON.stringify(reply.payload));
    const sys = await r.waitMessage((m) => m.event === 'system' && m.topic === topic, 15_000, 'postgres_changes system');
    assert.equal(sys.payload.status, 'ok', JSON.stringify(sys.payload));
    await db.query(`INSERT INTO public.chat (room, body) VALUES ('lenient', 'hi')`);
    const change = await r.waitMessage((m) => m.event === 'postgres_changes' && m.topic === topic, 10_000, 'a change');
    assert.equal(change.payload.data.type, 'INSERT');
    assert.equal(change.payload.data.record.body, 'hi');
  });

  it('replication_ready: a system message says the database stream is live', async () => {
    const c = await client();
    const ch = c.channel(uniqueName('repl-ready'), { config: { broadcast: { replication_ready: true } } });
    const sys = systemMessages(ch);
    await subscribed(ch);
    await waitFor(() => sys.length > 0, 15_000, 'replication_ready system message');
    assert.equal(sys[0].status, 'ok');
    assert.equal(sys[0].message, 'Replication connection established');
  });

  it('applies filters, event types and several bindings on one channel', async () => {
    const c = await client({ vsn: '1.0.0' });
    const room = uniqueName('r');
    const ch = c.channel(uniqueName('chat'));
    const eq = track(ch, { event: 'INSERT', schema: 'public', table: 'chat', filter: `room=eq.${room}` });
    const inList = track(ch, { event: 'INSERT', schema: 'public', table: 'chat', filter: `id=in.(1000001,1000003)` });
    const notEq = track(ch, { event: 'DELETE', schema: 'public', table: 'chat', filter: 'id=neq.1000002' });
    await subscribedToPostgres(ch);
    await db.query(`INSERT INTO public.chat (id, room, body) VALUES
      (1000001, 'elsewhere', 'a'), (1000002, $1, 'b'), (1000003, $1, 'c'), (1000004, 'elsewhere', 'd')`, [room]);
    await db.query(`DELETE FROM public.chat WHERE id IN (1000001, 1000002)`);
    await waitFor(() => eq.length >= 2 && inList.length >= 2 && notEq.length >= 1, 10_000, 'filtered changes');
    await sleep(300); // nothing else may arrive; the stream is ordered, so later rows would be here already
    assert.deepEqual(eq.map((p) => p.new.body), ['b', 'c']);
    assert.deepEqual(inList.map((p) => p.new.id), [1000001, 1000003]);
    assert.deepEqual(notEq.map((p) => p.old), [{ id: 1000001 }], 'DELETE filters read the old row (REPLICA IDENTITY default: the key)');
  });

  it('select limits the columns and keeps the primary key', async () => {
    const c = await client();
    const ch = c.channel(uniqueName('sel'));
    const got = track(ch, { event: 'INSERT', schema: 'public', table: 'chat', select: ['body'] });
    await subscribedToPostgres(ch);
    await db.query(`INSERT INTO public.chat (room, body) VALUES ('s', 'only body')`);
    await waitFor(() => got.length >= 1, 10_000, 'a change');
    assert.deepEqual(Object.keys(got[0].new).sort(), ['body', 'id']);
  });

  it('a bad filter or an unpublished table is a system error and the channel stays open', async () => {
    const c = await client();
    const bad = c.channel(uniqueName('bad'));
    track(bad, { event: '*', schema: 'public', table: 'chat', filter: 'room=zz.1' });
    const sysBad = systemMessages(bad);
    const msgs = collectBroadcasts(bad, 'ping');
    await subscribed(bad);
    await waitFor(() => sysBad.some((m) => m.extension === 'postgres_changes'), 10_000, 'error');
    assert.equal(sysBad.find((m) => m.extension === 'postgres_changes').status, 'error');
    await bad.httpSend('ping', { still: 'open' });
    await waitFor(() => msgs.length === 1, 5000, 'broadcast on the channel after the error');

    const unknown = c.channel(uniqueName('unknown'));
    track(unknown, { event: '*', schema: 'public', table: 'no_such_table' });
    const sysUnknown = systemMessages(unknown);
    await subscribed(unknown);
    await waitFor(() => sysUnknown.some((m) => m.extension === 'postgres_changes'), 10_000, 'error');
    const e = sysUnknown.find((m) => m.extension === 'postgres_changes');
    assert.equal(e.status, 'error');
    assert.match(e.message, /no_such_table/);
  });

  it('realtime.send and broadcast_changes reach broadcast subscribers, private rows only private channels', async () => {
    const topic = uniqueName('party');
    const c = await client({ accessToken: userToken(server.secret) });
    await c.realtime.setAuth(c.tokenHolder.token);
    const other = await client();
    const pub = other.channel(topic);
    const priv = c.channel(topic, { config: { private: true } });
    const gotPub = collectBroadcasts(pub, '*');
    const gotPriv = collectBroadcasts(priv, '*');
    await subscribed(pub);
    await subscribed(priv);
    await db.query(`SELECT realtime.send('{"text":"public"}'::jsonb, 'chat', $1, false)`, [topic]);
    await db.query(`SELECT realtime.send('{"text":"private"}'::jsonb, 'chat', $1)`, [topic]);
    await waitFor(() => gotPub.length >= 1 && gotPriv.length >= 1, 10_000, 'database broadcasts');
    assert.equal(gotPub[0].payload.text, 'public');
    assert.equal(gotPriv[0].payload.text, 'private');
    assert.ok(gotPriv[0].meta?.id, 'database broadcasts carry meta.id');

    await db.query(`
      CREATE TABLE IF NOT EXISTS public.votes (id serial PRIMARY KEY, topic text, song text);
      CREATE OR REPLACE FUNCTION public.votes_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        PERFORM realtime.broadcast_changes(coalesce(NEW.topic, OLD.topic), TG_OP, TG_OP, TG_TABLE_NAME, TG_TABLE_SCHEMA, NEW, OLD);
        RETURN NULL; END $$;
      DROP TRIGGER IF EXISTS votes_changed ON public.votes;
      CREATE TRIGGER votes_changed AFTER INSERT ON public.votes FOR EACH ROW EXECUTE FUNCTION public.votes_changed();`);
    await db.query(`INSERT INTO public.votes (topic, song) VALUES ($1, 'Anthem')`, [topic]);
    await waitFor(() => gotPriv.some((m) => m.event === 'INSERT'), 10_000, 'trigger broadcast');
    const t = gotPriv.find((m) => m.event === 'INSERT').payload;
    assert.equal(t.operation, 'INSERT');
    assert.equal(t.record.song, 'Anthem');
    assert.equal(gotPub.filter((m) => m.event === 'INSERT').length, 0, 'broadcast_changes sends private messages');
  });

  it('replays stored messages on join, oldest first, marked replayed, without live duplicates', async () => {
    const topic = uniqueName('replay');
    const since = Date.now() - 1000;
    for (let i = 1; i <= 3; i += 1) {
      await db.query(`SELECT realtime.send($1::jsonb, 'chat', $2)`, [JSON.stringify({ n: i }), topic]);
    }
    const c = await client({ accessToken: userToken(server.secret) });
    await c.realtime.setAuth(c.tokenHolder.token);
    const ch = c.channel(topic, { config: { private: true, broadcast: { replay: { since, limit: 2 } } } });
    const got = collectBroadcasts(ch, '*');
    await subscribed(ch);
    await waitFor(() => got.length >= 2, 10_000, 'replayed messages');
    await db.query(`SELECT realtime.send('{"n":4}'::jsonb, 'chat', $1)`, [topic]);
    await waitFor(() => got.length >= 3, 10_000, 'live message');
    await sleep(300);
    assert.deepEqual(got.map((m) => m.payload.n), [2, 3, 4]);
    assert.equal(got[0].meta.replayed, true);
    assert.equal(got[2].meta.replayed, undefined);
  });

  it('a bulk UPDATE of 10,000 rows in one transaction delivers all 10,000 changes', async () => {
    await db.query(`CREATE TABLE public.bulk (id int PRIMARY KEY, v int);
      ALTER PUBLICATION ${PUBLICATION} ADD TABLE public.bulk;
      INSERT INTO public.bulk SELECT g, 0 FROM generate_series(1, 10000) g;`);
    const c = await client();
    const got = new Set();
    const ch = c.channel(uniqueName('bulk'))
      .on('postgres_changes', { event: 'UPDATE', schema: 'public', table: 'bulk' }, (p) => got.add(p.new.id));
    const system = systemMessages(ch);
    await subscribed(ch);
    await waitFor(() => system.some((m) => m.extension === 'postgres_changes' && m.status === 'ok'), 10_000,
      'the subscription live');
    await db.query('UPDATE public.bulk SET v = v + 1');
    await waitFor(() => got.size === 10_000, 60_000, 'all 10,000 changes of the one transaction');
  });
});
