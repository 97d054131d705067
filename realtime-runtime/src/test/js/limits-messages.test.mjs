// Message-level limits, each with its own server: events per second, payload size, presence calls.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, makeClient, subscribed, collectBroadcasts, closeAll, uniqueName, waitFor, anonKey, http, RawClient,
  broadcast,
} from './harness.mjs';

const send = broadcast;

describe('REALTIME_MAX_EVENTS_PER_SECOND=3', () => {
  let server;
  const clients = [];
  before(async () => { server = await startServer({ REALTIME_MAX_EVENTS_PER_SECOND: 3 }); });
  after(async () => {
    await closeAll(clients);
    await server?.stop();
  });

  it('ack\'d websocket sends beyond the limit resolve "error"', async () => {
    const c = makeClient(server);
    clients.push(c);
    const ch = c.channel(uniqueName('ev'), { config: { broadcast: { ack: true } } });
    await subscribed(ch);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => send(ch, 'burst', { i })));
    assert.ok(results.includes('ok'), `the first sends are accepted: ${results}`);
    assert.ok(results.includes('error'), `sends beyond the limit are refused: ${results}`);
    assert.deepEqual(results.filter((r) => r !== 'ok' && r !== 'error'), [], `no timeouts: ${results}`);
  });

  it('REST beyond the limit answers 429 {"message":"Too many requests"}', async () => {
    const headers = { apikey: anonKey(server.secret), 'content-type': 'application/json' };
    const name = uniqueName('rest-ev');
    const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => http(server, '/api/broadcast', {
      method: 'POST', headers, body: JSON.stringify({ messages: [{ topic: name, event: 'e', payload: { i } }] }),
    })));
    const statuses = responses.map((r) => r.status);
    assert.ok(statuses.includes(429), `expected a 429 among ${statuses}`);
    assert.deepEqual(statuses.filter((s) => s !== 202 && s !== 429), [], `only 202/429: ${statuses}`);
    assert.deepEqual(responses.find((r) => r.status === 429).json, { message: 'Too many requests' });
  });
});

describe('REALTIME_MAX_PAYLOAD_KB=1', () => {
  let server;
  const clients = [];
  before(async () => { server = await startServer({ REALTIME_MAX_PAYLOAD_KB: 1 }); });
  after(async () => {
    await closeAll(clients);
    await server?.stop();
  });

  for (const vsn of ['2.0.0', '1.0.0']) {
    it(`vsn ${vsn}: an ack'd 2 KB send resolves "error" and is not delivered; a small one is`, async () => {
      const name = uniqueName('big');
      const c = makeClient(server, { vsn });
      const r = makeClient(server, { vsn });
      clients.push(c, r);
      const ch = c.channel(name, { config: { broadcast: { ack: true } } });
      const rx = r.channel(name);
      const got = collectBroadcasts(rx);
      await subscribed(ch);
      await subscribed(rx);
      assert.equal(await send(ch, 'big', { blob: 'x'.repeat(2048) }), 'error');
      assert.equal(await send(ch, 'small', { blob: 'x'.repeat(100) }), 'ok');
      await waitFor(() => got.find((m) => m.event === 'small'), 5000, 'small message');
      assert.deepEqual(got.filter((m) => m.event === 'big'), []);
    });
  }

  it('raw socket: the oversize ack reply is an error naming payload_size_exceeded, and the socket stays usable', async () => {
    const r = await RawClient.open(server, { vsn: '2.0.0' });
    clients.push(r);
    const j = await r.join(uniqueName('raw-big'), { config: { broadcast: { ack: true, self: true } } });
    const reply = await r.request(j.topic, 'broadcast', { type: 'broadcast', event: 'big', payload: { blob: 'y'.repeat(2048) } }, { joinRef: j.joinRef });
    assert.equal(reply.payload.status, 'error');
    assert.match(JSON.stringify(reply.payload.response), /payload_size_exceeded/);
    const ok = await r.request(j.topic, 'broadcast', { type: 'broadcast', event: 'small', payload: {} }, { joinRef: j.joinRef });
    assert.equal(ok.payload.status, 'ok');
    assert.equal(r.closed, false);
  });

  it('REST with a 2 KB payload answers 422', async () => {
    const headers = { apikey: anonKey(server.secret), 'content-type': 'application/json' };
    const big = await http(server, '/api/broadcast', {
      method: 'POST', headers,
      body: JSON.stringify({ messages: [{ topic: 'big', event: 'e', payload: { blob: 'x'.repeat(2048) } }] }),
    });
    assert.equal(big.status, 422, big.text);
    assert.deepEqual(big.json, { errors: { messages: [{ payload: ['Payload size exceeds tenant limit'] }] } });
    const single = await http(server, '/api/broadcast/big/events/e', {
      method: 'POST', headers, body: JSON.stringify({ blob: 'x'.repeat(2048) }),
    });
    assert.equal(single.status, 422, single.text);
    assert.deepEqual(single.json, { errors: { payload: ['Payload size exceeds tenant limit'] } });
    const small = await http(server, '/api/broadcast', {
      method: 'POST', headers, body: JSON.stringify({ messages: [{ topic: 'big', event: 'e', payload: { ok: 1 } }] }),
    });
    assert.equal(small.status, 202, small.text);
  });
});

describe('REALTIME_MAX_PRESENCE_CALLS=2', () => {
  let server;
  const clients = [];
  before(async () => { server = await startServer({ REALTIME_MAX_PRESENCE_CALLS: 2 }); });
  after(async () => {
    await closeAll(clients);
    await server?.stop();
  });

  it('the third call within the window closes the channel (system error, then phx_close)', async () => {
    const c = makeClient(server, { timeout: 2000 });
    clients.push(c);
    const ch = c.channel(uniqueName('pres'), { config: { presence: { key: 'limited' } } });
    const sys = [];
    ch.on('system', {}, (m) => sys.push(m));
    await subscribed(ch);
    assert.equal(await ch.track({ n: 1 }), 'ok');
    assert.equal(await ch.track({ n: 2 }), 'ok');
    ch.track({ n: 3 }).catch(() => {});
    await waitFor(() => ch.state === 'closed', 5000, 'channel closed');
    assert.equal(sys[0]?.message, 'Client presence rate limit exceeded');
  });
});
