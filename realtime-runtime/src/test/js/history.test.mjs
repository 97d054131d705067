// History, replay on reconnect and latest values (PROTOCOL.md, "History, recovery and latest values"): the real
// supabase-js, with the example's helper (examples/listening-party/client/history.mjs), against two runtimes that
// form a cluster and share one database. The database is a third runtime's embedded PostgreSQL, so that both pods
// can be stopped and started again while it stays.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import pg from 'pg';
import {
  startServer, freePort, makeClient, subscribed, closeAll, waitFor, uniqueName, http, underlyingSocket, sleep, anonKey,
} from './harness.mjs';
import { followHistory } from '../../../../examples/listening-party/client/history.mjs';

const RETENTION_HOURS = 1;

/** Two free ports 100 apart (JGroups' failure detection listens on the cluster port + 100). */
async function clusterPort() {
  for (;;) {
    const p = 20_000 + Math.floor(Math.random() * 20_000);
    if (await portFree(p) && await portFree(p + 100)) return p;
  }
}

function portFree(port) {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** A TCP proxy to the database that can be cut and restored: the pods' query connections go through it. */
async function databaseProxy(target) {
  const port = await freePort();
  const sockets = new Set();
  // while cut, the port stays bound and refuses at once: released, another test's server could take it
  let down = false;
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise((res) => server.listen(port, '127.0.0.1', res));
  return {
    port,
    async cut() {
      down = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    async restore() {
      down = false;
    },
    close() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

function metric(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('history, replay and latest values across a cluster', { concurrency: false }, () => {
  let database;
  let db;
  let proxy;
  let dbPort;
  const pods = [];
  const clients = [];
  let clusterName;

  /** Starts two pods of one cluster on the shared database. */
  async function startPods() {
    const ports = [await clusterPort(), await clusterPort()];
    const peers = ports.map((p) => `127.0.0.1:${p}`).join(',');
    const started = await Promise.all(ports.map((p) => startServer({
      REALTIME_DB_URL: `postgres://postgres:postgres@127.0.0.1:${dbPort}/postgres`,
      REALTIME_DB_POOL_URL: `postgres://postgres:postgres@127.0.0.1:${proxy.port}/postgres`,
      REALTIME_SLOT: 'history_pods',
      REALTIME_CLUSTER_NAME: clusterName,
      REALTIME_CLUSTER_PEERS: peers,
      REALTIME_CLUSTER_PORT: p,
      REALTIME_CLUSTER_BIND: '127.0.0.1',
      REALTIME_CLUSTER_MERGE_INTERVAL_MS: 1000,
      REALTIME_CLUSTER_FAILURE_DETECTION_MS: 2000,
      REALTIME_HISTORY_TOPICS: 'party:*',
      REALTIME_HISTORY_RETENTION_HOURS: RETENTION_HOURS,
      REALTIME_HISTORY_BATCH_MS: 100,
      REALTIME_LATEST_EVENTS: 'playback:sync',
      REALTIME_MAX_EVENTS_PER_SECOND: 100_000,
      REALTIME_SHUTDOWN_DRAIN_MS: 1000,
    })));
    pods.length = 0;
    pods.push(...started);
    // both pods see each other: a broadcast on one reaches a subscriber of the other
    await waitFor(async () => {
      const probe = uniqueName('probe');
      const c = makeClient(pods[1]);
      try {
        const got = [];
        const ch = c.channel(probe);
        ch.on('broadcast', { event: 'p' }, () => got.push(1));
        await subscribed(ch);
        await rest(pods[0], probe, [{ event: 'p', payload: {} }]);
        await waitFor(() => got.length > 0, 1000, 'probe');
        return true;
      } finally {
        await closeAll([c]);
      }
    }, 30_000, 'the two pods to form a cluster');
  }

  async function stopPods() {
    await Promise.all(pods.map((p) => p.stop()));
  }

  before(async () => {
    dbPort = await freePort();
    database = await startServer({ REALTIME_DB_URL: '', REALTIME_EMBEDDED_DB_PORT: dbPort });
    db = new pg.Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${dbPort}/postgres` });
    await db.connect();
    await waitFor(async () => (await db.query(
      "SELECT 1 FROM pg_class WHERE relname = 'messages' AND relnamespace = 'realtime'::regnamespace")).rowCount === 1,
    30_000, 'the realtime schema');
    proxy = await databaseProxy(dbPort);
    clusterName = uniqueName('history-cluster');
    await startPods();
  });

  after(async () => {
    await closeAll(clients);
    await stopPods();
    proxy?.close();
    await db?.end();
    await database?.stop();
  });

  function client(server, opts) {
    const c = makeClient(server, opts);
    clients.push(c);
    return c;
  }

  /** Publishes through REST on `server`, 500 messages a request. */
  async function rest(server, topic, messages) {
    for (let i = 0; i < messages.length; i += 500) {
      const res = await http(server, '/api/broadcast', {
        method: 'POST',
        headers: { apikey: anonKey(server.secret), 'content-type': 'application/json' },
        body: JSON.stringify({ messages: messages.slice(i, i + 500).map((m) => ({ topic, ...m })) }),
      });
      assert.equal(res.status, 202, `REST broadcast: ${res.status} ${res.text}`);
    }
  }

  function chat(from, n) {
    return Array.from({ length: n }, (_, i) => ({ event: 'chat', payload: { seq: from + i } }));
  }

  /** A listener that follows `topic` with the helper; returns its messages and the helper. */
  async function follow(server, topic, { since, limit, realtime } = {}) {
    const c = client(server, { realtime });
    const got = [];
    const summaries = [];
    const gaps = [];
    const party = followHistory(c.channel(topic), {
      since, limit, onMessage: (m) => got.push(m), onReplayed: (s) => summaries.push(s), onGap: (s) => gaps.push(s),
    });
    await new Promise((res, rej) => party.subscribe((status, err) => (status === 'SUBSCRIBED' ? res() : status !== 'CLOSED' && rej(err ?? new Error(status)))));
    return { c, got, summaries, gaps, party };
  }

  /**
   * A new client resuming from the newest meta.at an earlier one saw (whole milliseconds) gets the 200 it missed, in
   * order, once; before them only messages of that last millisecond, which the earlier client had.
   */
  function assertMissedOnce(got) {
    const missed = Array.from({ length: 200 }, (_, i) => i + 3);
    assert.deepEqual(got.slice(got.length - 200), missed, 'the 200 missed, in order');
    assert.ok(got.slice(0, got.length - 200).every((s, i, a) => s <= 2 && (i === 0 || s > a[i - 1])), `got ${got.slice(0, 5)}`);
  }

  const seqs = (got) => got.filter((m) => m.event === 'chat').map((m) => m.payload.seq);

  it('stamps live deliveries with the stored row and writes each message once', async () => {
    const topic = uniqueName('party:stamp');
    const l = await follow(pods[1], topic);
    await rest(pods[0], topic, chat(0, 3));
    await waitFor(() => l.got.length === 3, 10_000, 'three live messages');
    for (const m of l.got) {
      assert.match(m.meta.id, /^[0-9a-f-]{36}$/);
      assert.equal(typeof m.meta.at, 'number');
      assert.equal(m.meta.replayed, undefined);
    }
    const rows = await waitFor(async () => {
      const r = await db.query(
        `SELECT id::text, (extract(epoch FROM inserted_at) * 1000000)::bigint AS at, payload, private, extension
           FROM realtime.messages WHERE topic = $1 ORDER BY inserted_at`, [topic]);
      return r.rowCount === 3 ? r.rows : null;
    }, 10_000, 'three stored rows');
    assert.deepEqual(rows.map((r) => r.id), l.got.map((m) => m.meta.id), 'the live meta.id is the row id');
    assert.deepEqual(rows.map((r) => Number(r.at)), l.got.map((m) => Math.round(m.meta.at * 1000)),
      'meta.at is inserted_at, to the microsecond');
    assert.deepEqual(rows.map((r) => r.payload.seq), [0, 1, 2]);
    assert.ok(rows.every((r) => r.private === false && r.extension === 'broadcast'));
    await sleep(500);
    const again = await db.query('SELECT count(*)::int AS n FROM realtime.messages WHERE topic = $1', [topic]);
    assert.equal(again.rows[0].n, 3, 'the slot reader does not send stored history out a second time');
    assert.equal(l.got.length, 3);
    assert.equal(l.party.stats.duplicates, 0, 'no message came twice, not even one the helper would have dropped');
  });

  it('a client that misses 200 messages gets exactly those 200 on rejoin, in order, once', async () => {
    const topic = uniqueName('party:miss');
    // supabase-js reconnects after this delay: the 200 are sent while it is away
    const l = await follow(pods[0], topic, { realtime: { reconnectAfterMs: () => 2000 } });
    await rest(pods[1], topic, chat(0, 5));
    await waitFor(() => l.got.length === 5, 10_000, 'five live messages');
    underlyingSocket(l.c).terminate();
    await sleep(100);
    await rest(pods[1], topic, chat(5, 200));
    // the first join's summary (nothing to replay), then the rejoin's
    await waitFor(() => l.summaries.length === 2, 20_000, 'the rejoin and its replay');
    assert.deepEqual(seqs(l.got), Array.from({ length: 205 }, (_, i) => i), 'all 205, in order, once');
    const summary = l.summaries[1];
    assert.equal(summary.complete, true);
    assert.equal(summary.message, `Replayed ${summary.replayed} messages`);
    // since is the newest meta.at seen, in whole milliseconds: the live messages of that millisecond replay again and
    // the helper drops them
    assert.ok(summary.replayed >= 200 && summary.replayed <= 205, `replayed ${summary.replayed}`);
    assert.equal(l.party.stats.duplicates, summary.replayed - 200);
    assert.ok(l.got.slice(5).every((m) => m.meta.replayed === true));
    assert.deepEqual(l.gaps, []);
  });

  it('the same on another pod and after every pod has restarted', async () => {
    const topic = uniqueName('party:restart');
    const first = await follow(pods[0], topic);
    await rest(pods[0], topic, chat(0, 3));
    await waitFor(() => first.got.length === 3, 10_000, 'three live messages');
    const since = first.party.since;
    await closeAll([first.c]);
    await rest(pods[1], topic, chat(3, 200));
    const other = await follow(pods[1], topic, { since });
    await waitFor(() => other.summaries.length === 1, 20_000, 'the replay on the other pod');
    assertMissedOnce(seqs(other.got));
    assert.equal(other.summaries[0].complete, true);
    await closeAll([other.c]);

    await stopPods();
    await startPods();
    const after = await follow(pods[0], topic, { since });
    await waitFor(() => after.summaries.length === 1, 20_000, 'the replay after the restart');
    assertMissedOnce(seqs(after.got));
    assert.equal(after.summaries[0].complete, true);
  });

  it('says complete:false when the client was away too long or missed more than its limit', async () => {
    const topic = uniqueName('party:gap');
    await rest(pods[0], topic, chat(0, 30));
    await sleep(300);
    const limited = await follow(pods[1], topic, { since: Date.now() - 60_000, limit: 10 });
    await waitFor(() => limited.summaries.length === 1, 10_000, 'the limited replay');
    assert.deepEqual(seqs(limited.got), Array.from({ length: 10 }, (_, i) => i + 20), 'the newest 10');
    assert.equal(limited.summaries[0].complete, false);
    assert.equal(limited.gaps.length, 1, 'the helper reports the gap');

    const old = await follow(pods[0], topic, { since: Date.now() - (RETENTION_HOURS * 3600_000 + 60_000) });
    await waitFor(() => old.summaries.length === 1, 10_000, 'the replay from before the retention');
    assert.equal(old.summaries[0].complete, false);
    assert.equal(seqs(old.got).length, 30);
  });

  it('a late joiner gets the latest playback:sync, on any pod and from the database after restarts', async () => {
    const topic = uniqueName('party:latest');
    // a listener on the other pod shows when the relay has brought all five there
    const early = client(pods[1]);
    const relayed = [];
    const earlyChannel = early.channel(topic);
    earlyChannel.on('broadcast', { event: '*' }, (m) => relayed.push(m));
    await subscribed(earlyChannel);
    for (let i = 1; i <= 3; i++) {
      await rest(pods[0], topic, [{ event: 'playback:sync', payload: { songId: 's1', positionMs: i * 1000 } }]);
    }
    await rest(pods[0], topic, chat(0, 2));
    await waitFor(() => relayed.length === 5, 10_000, 'the five messages relayed to the other pod');
    const late = client(pods[1]);
    const got = [];
    const ch = late.channel(topic);
    ch.on('broadcast', { event: '*' }, (m) => got.push(m));
    await subscribed(ch);
    await waitFor(() => got.length >= 1, 10_000, 'the latest value');
    await sleep(300);
    assert.equal(got.length, 1, 'only the latest value, no replay without asking');
    assert.equal(got[0].event, 'playback:sync');
    assert.equal(got[0].payload.positionMs, 3000);
    assert.equal(got[0].meta.latest, true);
    assert.equal(got[0].meta.replayed, true);

    // in a replay, the latest value comes first and is not sent again among the replayed
    const l = await follow(pods[0], topic, { since: Date.now() - 60_000 });
    await waitFor(() => l.summaries.length === 1, 10_000, 'the replay');
    assert.equal(l.got[0].meta.latest, true);
    assert.equal(l.got.filter((m) => m.event === 'playback:sync').length, 3, 'each sync once');
    assert.equal(l.summaries[0].replayed, 4, 'the latest value is not counted');

    await closeAll([late, l.c]);
    await stopPods();
    await startPods();
    const fresh = client(pods[1]);
    const after = [];
    const ch2 = fresh.channel(topic);
    ch2.on('broadcast', { event: '*' }, (m) => after.push(m));
    await subscribed(ch2);
    await waitFor(() => after.length >= 1, 10_000, 'the latest value from the database');
    assert.equal(after[0].payload.positionMs, 3000);

    // a topic without history: from memory, without id
    const lobby = uniqueName('lobby');
    await rest(pods[1], lobby, [{ event: 'playback:sync', payload: { songId: 's2', positionMs: 5 } }]);
    const other = client(pods[0]);
    const got3 = [];
    const ch3 = other.channel(lobby);
    ch3.on('broadcast', { event: '*' }, (m) => got3.push(m));
    await subscribed(ch3);
    await waitFor(() => got3.length >= 1, 10_000, 'the latest value kept in memory');
    assert.equal(got3[0].payload.songId, 's2');
    assert.equal(got3[0].meta.id, undefined);
    assert.equal(got3[0].meta.latest, true);
  });

  it('keeps delivering live while the database is away, and stores the backlog once it is back', async () => {
    const topic = uniqueName('party:outage');
    const l = await follow(pods[1], topic);
    const before = await (await fetch(`${pods[0].url}/metrics`)).text();
    await proxy.cut();
    try {
      await rest(pods[0], topic, chat(0, 50));
      await waitFor(() => l.got.length === 50, 10_000, 'live delivery without the database');
      const during = await waitFor(async () => {
        const t = await (await fetch(`${pods[0].url}/metrics`)).text();
        return metric(t, 'realtime_history_queue') >= 50 ? t : null;
      }, 10_000, 'the queue to hold what cannot be stored yet');
      assert.equal(metric(during, 'realtime_history_stored_total'), metric(before, 'realtime_history_stored_total'));
      await waitFor(() => /History storage is failing: the database is unreachable/.test(pods[0].output()), 30_000,
        'the outage in the log');
      await rest(pods[0], topic, chat(50, 10));
      await waitFor(() => l.got.length === 60, 10_000, 'live delivery during the outage');
    } finally {
      await proxy.restore();
    }
    await waitFor(async () => (await db.query(
      'SELECT count(*)::int AS n FROM realtime.messages WHERE topic = $1', [topic])).rows[0].n === 60,
    30_000, 'the backlog stored');
    const after = await (await fetch(`${pods[0].url}/metrics`)).text();
    assert.equal(metric(after, 'realtime_history_queue'), 0);
    assert.equal(metric(after, 'realtime_history_unstored_total'), 0, 'nothing was lost');
    assert.equal(pods[0].output().match(/History storage is failing/g).length, 1, 'logged once for the incident');
    await waitFor(() => /History storage works again/.test(pods[0].output()), 10_000, 'the recovery in the log');
  });

  it('keeps Supabase\'s refusal of replay on public channels of topics without history', async () => {
    const c = client(pods[0]);
    const ch = c.channel(uniqueName('lobby'));
    ch.params.config.broadcast.replay = { since: Date.now() - 1000 };
    const err = await new Promise((res) => ch.subscribe((status, e) => status === 'CHANNEL_ERROR' && res(e)));
    assert.match(String(err?.message ?? err), /Replay is not allowed for public channels/);
  });
});
