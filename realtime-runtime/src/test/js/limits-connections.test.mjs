// Connection-level limits, each with its own server: channels per client, concurrent users, joins per second.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, makeClient, subscribe, subscribed, closeAll, uniqueName, waitFor, tryUpgrade, wsUrl, anonKey,
  RawClient,
} from './harness.mjs';

describe('REALTIME_MAX_CHANNELS_PER_CLIENT=2', () => {
  let server;
  const clients = [];
  before(async () => { server = await startServer({ REALTIME_MAX_CHANNELS_PER_CLIENT: 2 }); });
  after(async () => {
    await closeAll(clients);
    await server?.stop();
  });

  it('the third channel on one socket errors with "ChannelRateLimitReached: Too many channels"', async () => {
    const c = makeClient(server);
    clients.push(c);
    await subscribed(c.channel(uniqueName('ch1')));
    await subscribed(c.channel(uniqueName('ch2')));
    const { status, err } = await subscribe(c.channel(uniqueName('ch3')));
    assert.equal(status, 'CHANNEL_ERROR');
    assert.match(err.message, /ChannelRateLimitReached: Too many channels/);

    // the limit is per socket: another client can still join
    const other = makeClient(server);
    clients.push(other);
    await subscribed(other.channel(uniqueName('other')));
  });

  it('leaving a channel frees a slot', async () => {
    const c = makeClient(server);
    clients.push(c);
    const first = c.channel(uniqueName('a'));
    await subscribed(first);
    await subscribed(c.channel(uniqueName('b')));
    assert.equal(await c.removeChannel(first), 'ok');
    await subscribed(c.channel(uniqueName('c')));
  });
});

describe('REALTIME_MAX_CONCURRENT_USERS=2', () => {
  let server;
  const clients = [];
  before(async () => { server = await startServer({ REALTIME_MAX_CONCURRENT_USERS: 2 }); });
  after(async () => {
    await closeAll(clients);
    await server?.stop();
  });

  it('the third connection is refused with 429 {"error":"Too many connected users"}; a slot frees on close', async () => {
    const r1 = await RawClient.open(server);
    clients.push(r1);
    const r2 = await RawClient.open(server);
    clients.push(r2);
    const url = wsUrl(server, { vsn: '2.0.0', apikey: anonKey(server.secret) });
    const third = await tryUpgrade(url);
    if (third.opened) {
      third.ws.terminate();
      assert.fail('third connection was accepted');
    }
    assert.equal(third.status, 429, third.body);
    assert.deepEqual(JSON.parse(third.body), { error: 'Too many connected users' });

    await r1.close();
    const again = await waitFor(async () => {
      const res = await tryUpgrade(url);
      return res.opened ? res : null;
    }, 5000, 'a connection to be accepted after one closed');
    clients.push(new RawClient(again.ws, '2.0.0'));
  });
});

describe('REALTIME_MAX_JOINS_PER_SECOND=2', () => {
  let server;
  const clients = [];
  before(async () => { server = await startServer({ REALTIME_MAX_JOINS_PER_SECOND: 2 }); });
  after(async () => {
    await closeAll(clients);
    await server?.stop();
  });

  it('rapid joins: at least one errors with "ClientJoinRateLimitReached: Too many joins per second"', async () => {
    const c = makeClient(server);
    clients.push(c);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => subscribe(c.channel(uniqueName(`j${i}`)))),
    );
    const errors = results.filter((r) => r.status === 'CHANNEL_ERROR');
    assert.ok(results.some((r) => r.status === 'SUBSCRIBED'), `some joins succeed: ${JSON.stringify(results.map((r) => r.status))}`);
    assert.ok(errors.length >= 1, `expected a rate-limited join, got ${JSON.stringify(results.map((r) => r.status))}`);
    for (const e of errors) assert.match(e.err.message, /ClientJoinRateLimitReached: Too many joins per second/);
  });
});

describe('REALTIME_JOIN_ERROR_DELAY_MS=1500', () => {
  let server;
  const clients = [];
  before(async () => {
    server = await startServer({ REALTIME_JOIN_ERROR_DELAY_MS: 1500, REALTIME_MAX_CHANNELS_PER_CLIENT: 1 });
  });
  after(async () => {
    await closeAll(clients);
    await server?.stop();
  });

  it('join error replies are delayed; ok replies are not', async () => {
    const r = await RawClient.open(server);
    clients.push(r);
    let t0 = Date.now();
    const ok = await r.join(uniqueName('fast'));
    assert.equal(ok.reply.payload.status, 'ok');
    assert.ok(Date.now() - t0 < 1000, 'an ok join is answered at once');
    t0 = Date.now();
    const refused = await r.join(uniqueName('slow'), { timeoutMs: 10_000 });
    const elapsed = Date.now() - t0;
    assert.equal(refused.reply.payload.status, 'error');
    assert.match(refused.reply.payload.response.reason, /ChannelRateLimitReached: Too many channels/);
    assert.ok(elapsed >= 1400, `error reply came after ${elapsed} ms, expected about 1500`);
    // the socket is still usable meanwhile
    const hb = await r.request('phoenix', 'heartbeat', {});
    assert.equal(hb.payload.status, 'ok');
  });
});
