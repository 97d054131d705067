// Private channels authorized by row-level security policies on realtime.messages, written exactly as
// in Supabase's authorization guide, with the real supabase-js client.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  startServer, freePort, makeClient, subscribe, subscribed, closeAll, waitFor, uniqueName, userToken, anonKey,
  collectBroadcasts, http, sleep,
} from './harness.mjs';

describe('authorization of private channels by RLS policies', { concurrency: false }, () => {
  let server;
  let db;
  const clients = [];
  const alice = randomUUID();
  const bob = randomUUID();

  before(async () => {
    const dbPort = await freePort();
    server = await startServer({ REALTIME_DB_URL: '', REALTIME_EMBEDDED_DB_PORT: dbPort });
    db = new pg.Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${dbPort}/postgres` });
    await db.connect();
    await waitFor(async () => (await db.query(
      "SELECT 1 FROM pg_proc WHERE proname = 'topic' AND pronamespace = 'realtime'::regnamespace")).rowCount === 1,
    30_000, 'provisioned schema');
    // Supabase's guide: members of a room may read and send broadcasts and presence of that room.
    await db.query(`
      CREATE TABLE public.rooms_members (room text, user_id uuid);
      GRANT SELECT ON public.rooms_members TO authenticated;
      INSERT INTO public.rooms_members VALUES ('room:vip', '${alice}'), ('room:readonly', '${alice}'), ('room:readonly', '${bob}');
      CREATE POLICY "members read" ON realtime.messages FOR SELECT TO authenticated USING (
        EXISTS (SELECT 1 FROM public.rooms_members m WHERE m.user_id = (SELECT auth.uid())
                AND m.room = (SELECT realtime.topic()) AND realtime.messages.extension IN ('broadcast', 'presence')));
      CREATE POLICY "members write" ON realtime.messages FOR INSERT TO authenticated WITH CHECK (
        EXISTS (SELECT 1 FROM public.rooms_members m WHERE m.user_id = (SELECT auth.uid())
                AND m.room = (SELECT realtime.topic()) AND m.room <> 'room:readonly'));`);
  });

  after(async () => {
    await closeAll(clients);
    await db?.end();
    await server?.stop();
  });

  function client(sub) {
    const c = makeClient(server, { accessToken: sub ? userToken(server.secret, sub) : undefined });
    clients.push(c);
    return c;
  }

  it('a member joins, reads and sends; a non-member and anon are refused', async () => {
    const a = client(alice);
    await a.realtime.setAuth(a.tokenHolder.token);
    const ch = a.channel('room:vip', { config: { private: true, broadcast: { self: true, ack: true } } });
    const got = collectBroadcasts(ch, 'chat');
    await subscribed(ch);
    assert.equal(await ch.send({ type: 'broadcast', event: 'chat', payload: { hi: 1 } }), 'ok');
    await waitFor(() => got.length === 1, 5000, 'own broadcast');

    const b = client(bob);
    await b.realtime.setAuth(b.tokenHolder.token);
    const denied = await subscribe(b.channel('room:vip', { config: { private: true } }));
    assert.equal(denied.status, 'CHANNEL_ERROR');
    assert.match(String(denied.err?.message ?? denied.err),
      /Unauthorized: You do not have permissions to read from this Channel topic: room:vip/);

    const anon = client();
    const anonDenied = await subscribe(anon.channel('room:vip', { config: { private: true } }));
    assert.equal(anonDenied.status, 'CHANNEL_ERROR');
  });

  it('read without write: joins and receives, but sends and tracks are refused', async () => {
    const a = client(alice);
    await a.realtime.setAuth(a.tokenHolder.token);
    const reader = a.channel('room:readonly', { config: { private: true, broadcast: { ack: true } } });
    const got = collectBroadcasts(reader, 'news');
    await subscribed(reader);
    assert.equal(await reader.send({ type: 'broadcast', event: 'news', payload: {} }), 'error');
    assert.equal(await reader.track({ here: true }), 'error');
    await db.query(`SELECT realtime.send('{"n":1}'::jsonb, 'news', 'room:readonly')`);
    await waitFor(() => got.length === 1, 10_000, 'database broadcast to a reader');
  });

  it('REST broadcast to a private topic needs write permission: a batch leaves those messages out, one message gets 403', async () => {
    const a = client(alice);
    await a.realtime.setAuth(a.tokenHolder.token);
    const ch = a.channel('room:vip', { config: { private: true } });
    const got = collectBroadcasts(ch, 'rest');
    await subscribed(ch);
    const batch = (token, messages) => http(server, '/api/broadcast', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages }),
    });
    const vip = (from) => ({ topic: 'room:vip', event: 'rest', payload: { from }, private: true });
    const open = uniqueName('open');
    // as Supabase does: 202, the messages the caller may not write are left out, the others are sent
    for (const [token, from] of [[userToken(server.secret, bob), 'bob'], [anonKey(server.secret), 'anon']]) {
      const res = await batch(token, [vip(from), { topic: open, event: 'rest', payload: {} }]);
      assert.equal(res.status, 202, `${from}: ${res.text}`);
    }
    assert.equal((await batch(userToken(server.secret, alice), [{ ...vip('alice'), topic: 'room:readonly' }])).status, 202);
    assert.equal((await batch(userToken(server.secret, alice), [vip('alice')])).status, 202);
    await waitFor(() => got.length === 1, 5000, "alice's REST message");
    await sleep(300);
    assert.deepEqual(got.map((m) => m.payload.from), ['alice'], 'only the permitted message arrived');
    const single = (token, topic) => http(server, `/api/broadcast/${topic}/events/rest?private=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: 'single' }),
    });
    const denied = await single(userToken(server.secret, bob), 'room:vip');
    assert.equal(denied.status, 403, denied.text);
    assert.deepEqual(denied.json, { message: 'Unauthorized' });
    assert.equal((await single(userToken(server.secret, alice), 'room:readonly')).status, 403);
    assert.equal((await single(userToken(server.secret, alice), 'room:vip')).status, 202);
    await waitFor(() => got.length === 2, 5000, "alice's single REST message");
  });

  it('Postgres Changes honour RLS: each user sees only their own rows; tables without RLS reach everyone', async () => {
    await db.query(`
      CREATE TABLE public.tips (id serial PRIMARY KEY, user_id uuid, amount int, note text);
      ALTER TABLE public.tips ENABLE ROW LEVEL SECURITY;
      CREATE POLICY "own tips" ON public.tips FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()));
      CREATE TABLE public.queue (id serial PRIMARY KEY, song text, secret text);
      REVOKE SELECT ON public.queue FROM anon, authenticated;
      GRANT SELECT (id, song) ON public.queue TO anon, authenticated;
      ALTER PUBLICATION supabase_realtime ADD TABLE public.tips, public.queue;`);
    const changes = async (sub) => {
      const c = client(sub);
      if (sub) await c.realtime.setAuth(c.tokenHolder.token);
      const ch = c.channel(`tips-${randomUUID()}`);
      const tips = [];
      const queue = [];
      ch.on('postgres_changes', { event: '*', schema: 'public', table: 'tips' }, (p) => tips.push(p));
      ch.on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'queue' }, (p) => queue.push(p));
      const sys = [];
      ch.on('system', {}, (m) => sys.push(m));
      await subscribed(ch);
      await waitFor(() => sys.some((m) => m.extension === 'postgres_changes' && m.status === 'ok'), 15_000, 'live');
      return { tips, queue };
    };
    const a = await changes(alice);
    const b = await changes(bob);
    const anon = await changes();
    // Visibility is checked against the table when the change streams (as Supabase does), so each step
    // waits for the previous one to arrive before the rows change again.
    await db.query(`INSERT INTO public.tips (user_id, amount) VALUES ($1, 5), ($2, 7), ($1, 9)`, [alice, bob]);
    await db.query(`INSERT INTO public.queue (song, secret) VALUES ('Anthem', 'hidden')`);
    await waitFor(() => a.tips.length >= 2 && b.tips.length >= 1 && a.queue.length && b.queue.length
      && anon.queue.length, 15_000, 'inserts');
    await db.query(`UPDATE public.tips SET note = 'thanks' WHERE amount = 5`);
    await waitFor(() => a.tips.length >= 3, 15_000, 'update');
    await db.query(`DELETE FROM public.tips WHERE amount = 7`);
    await waitFor(() => [a, b, anon].every((x) => x.tips.some((p) => p.eventType === 'DELETE')), 15_000, 'deletes');
    assert.deepEqual(a.tips.filter((p) => p.eventType !== 'DELETE').map((p) => p.new.amount), [5, 9, 5]);
    assert.deepEqual(b.tips.filter((p) => p.eventType === 'INSERT').map((p) => p.new.amount), [7]);
    assert.equal(anon.tips.filter((p) => p.eventType !== 'DELETE').length, 0, 'anon sees no tips');
    const del = b.tips.find((p) => p.eventType === 'DELETE');
    assert.deepEqual(Object.keys(del.old), ['id'], 'a DELETE on an RLS table carries the key only');
    assert.deepEqual(Object.keys(a.queue[0].new).sort(), ['id', 'song'], 'columns without privilege are not sent');
  });

  it('losing read permission on a token refresh closes the channel', async () => {
    const a = client(alice);
    await a.realtime.setAuth(a.tokenHolder.token);
    const ch = a.channel('room:vip', { config: { private: true } });
    const system = [];
    ch.on('system', {}, (m) => system.push(m));
    await subscribed(ch);
    a.tokenHolder.token = userToken(server.secret, bob);
    await a.realtime.setAuth(a.tokenHolder.token);
    await waitFor(() => ch.statuses.some((s) => s.status === 'CLOSED'), 10_000, 'channel closed');
    assert.ok(system.some((m) => m.status === 'error' && /permissions to read/.test(m.message)), JSON.stringify(system));
  });
});
