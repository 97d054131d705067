// REST broadcast endpoints, health and metrics.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  VSNS, subscribed, collectBroadcasts, uniqueName, waitFor, anonKey, jwt, http, runtimeForFile,
} from './harness.mjs';

const rt = runtimeForFile();
const { clients } = rt;

const client = rt.client;

async function subscriber(vsn, name, config) {
  const ch = client(vsn).channel(name, config ? { config } : undefined);
  const got = collectBroadcasts(ch);
  await subscribed(ch);
  return { ch, got };
}

const json = (body) => JSON.stringify(body);

for (const vsn of VSNS) {
  describe(`REST broadcast to vsn ${vsn} subscribers`, () => {
    it('channel.httpSend(event, payload) resolves {success:true} and reaches a websocket subscriber', async () => {
      const name = uniqueName();
      const { got } = await subscriber(vsn, name);
      const senderClient = client('2.0.0');
      const sender = senderClient.channel(name);
      const res = await sender.httpSend('http-event', { via: 'httpSend', n: 7 });
      assert.deepEqual(res, { success: true });
      const m = await waitFor(() => got.find((x) => x.event === 'http-event'), 5000, 'subscriber to receive httpSend');
      assert.equal(m.type, 'broadcast');
      assert.deepEqual(m.payload, { via: 'httpSend', n: 7 });
      await senderClient.removeChannel(sender);
    });

    for (const path of ['/api/broadcast', '/realtime/v1/api/broadcast']) {
      it(`POST ${path} (batch, apikey header) answers 202 and every message reaches its topic`, async () => {
        const name1 = uniqueName();
        const name2 = uniqueName();
        const s1 = await subscriber(vsn, name1);
        const s2 = await subscriber(vsn, name2);
        const res = await http(rt.server, path, {
          method: 'POST',
          headers: { apikey: anonKey(rt.server.secret), 'content-type': 'application/json' },
          body: json({
            messages: [
              { topic: name1, event: 'batch', payload: { i: 1 } },
              { topic: name2, event: 'batch', payload: { i: 2 }, private: false },
              { topic: name1, event: 'batch', payload: { i: 3 } },
            ],
          }),
        });
        assert.equal(res.status, 202, `body: ${res.text}`);
        await waitFor(() => s1.got.length === 2 && s2.got.length === 1, 5000, 'batch deliveries');
        assert.deepEqual(s1.got.map((m) => m.payload.i).sort(), [1, 3]);
        assert.deepEqual(s2.got[0].payload, { i: 2 });
        assert.equal(s2.got[0].event, 'batch');
      });
    }

    it('POST /api/broadcast/{topic}/events/{event} with a JSON body and a Bearer token reaches subscribers', async () => {
      const name = uniqueName();
      const { got } = await subscriber(vsn, name);
      const res = await http(rt.server, `/api/broadcast/${encodeURIComponent(name)}/events/single`, {
        method: 'POST',
        headers: { authorization: `Bearer ${anonKey(rt.server.secret)}`, 'content-type': 'application/json' },
        body: json({ single: true }),
      });
      assert.equal(res.status, 202, `body: ${res.text}`);
      const m = await waitFor(() => got.find((x) => x.event === 'single'), 5000, 'single-event delivery');
      assert.deepEqual(m.payload, { single: true });
    });
  });
}

describe('REST binary broadcast', () => {
  it('application/octet-stream body reaches vsn 2.0.0 subscribers as bytes (httpSend with a Uint8Array) and not vsn 1.0.0 ones', async () => {
    const name = uniqueName();
    const v2 = await subscriber('2.0.0', name);
    const v1 = await subscriber('1.0.0', name);
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) % 256);
    const senderClient = client('2.0.0');
    const sender = senderClient.channel(name);
    assert.deepEqual(await sender.httpSend('bytes', bytes), { success: true });
    const m = await waitFor(() => v2.got.find((x) => x.event === 'bytes'), 5000, 'binary delivery to vsn 2.0.0');
    assert.ok(m.payload instanceof ArrayBuffer);
    assert.deepEqual(Buffer.from(m.payload), Buffer.from(bytes));

    // fence for the vsn 1.0.0 subscriber
    assert.deepEqual(await sender.httpSend('fence', { after: 'bytes' }), { success: true });
    await waitFor(() => v1.got.find((x) => x.event === 'fence'), 5000, 'fence to vsn 1.0.0');
    assert.deepEqual(v1.got.filter((x) => x.event === 'bytes'), []);
    await senderClient.removeChannel(sender);
  });

  it('/realtime/v1/api/broadcast/{topic}/events/{event} accepts octet-stream too', async () => {
    const name = uniqueName();
    const v2 = await subscriber('2.0.0', name);
    const res = await http(rt.server, `/realtime/v1/api/broadcast/${encodeURIComponent(name)}/events/raw`, {
      method: 'POST',
      headers: { apikey: anonKey(rt.server.secret), 'content-type': 'application/octet-stream' },
      body: Buffer.from([1, 2, 3, 250]),
    });
    assert.equal(res.status, 202, `body: ${res.text}`);
    const m = await waitFor(() => v2.got.find((x) => x.event === 'raw'), 5000, 'octet-stream delivery');
    assert.deepEqual([...new Uint8Array(m.payload)], [1, 2, 3, 250]);
  });
});

describe('REST errors', () => {
  const body = json({ messages: [{ topic: 'nobody', event: 'e', payload: {} }] });

  it('401 {"message":"Unauthorized"} without any token', async () => {
    for (const path of ['/api/broadcast', '/realtime/v1/api/broadcast']) {
      const res = await http(rt.server, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(res.status, 401, `${path}: ${res.text}`);
      assert.deepEqual(res.json, { message: 'Unauthorized' });
    }
  });

  it('401 with a token signed by another secret, an expired token, or garbage', async () => {
    const bad = [
      anonKey('some-other-secret-that-is-long-enough-to-be-valid'),
      anonKey(rt.server.secret, { expSeconds: -60 }),
      'not-a-jwt',
    ];
    for (const token of bad) {
      for (const headers of [{ authorization: `Bearer ${token}` }, { apikey: token }]) {
        const res = await http(rt.server, '/api/broadcast', {
          method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body,
        });
        assert.equal(res.status, 401, `token ${token.slice(0, 20)}… via ${Object.keys(headers)[0]}: ${res.status} ${res.text}`);
        assert.deepEqual(res.json, { message: 'Unauthorized' });
      }
    }
    const single = await http(rt.server, '/api/broadcast/room/events/e', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
    });
    assert.equal(single.status, 401);
  });

  it('422 on a body that is not JSON, or has no messages array', async () => {
    const headers = { apikey: anonKey(rt.server.secret), 'content-type': 'application/json' };
    for (const bad of ['not json at all', '{"messages": "nope"}', '[1,2,3]']) {
      const res = await http(rt.server, '/api/broadcast', { method: 'POST', headers, body: bad });
      assert.equal(res.status, 422, `body ${bad}: ${res.status} ${res.text}`);
    }
    const single = await http(rt.server, '/api/broadcast/room/events/e', { method: 'POST', headers, body: '{oops' });
    assert.equal(single.status, 422, single.text);
  });

  it('a wrong role-less token is refused', async () => {
    const token = jwt({ exp: Math.floor(Date.now() / 1000) + 3600 }, rt.server.secret);
    const res = await http(rt.server, '/api/broadcast', {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body,
    });
    assert.equal(res.status, 401, res.text);
  });
});

describe('health and metrics', () => {
  it('/healthz and /readyz answer 200', async () => {
    assert.equal((await http(rt.server, '/healthz')).status, 200);
    assert.equal((await http(rt.server, '/readyz')).status, 200);
  });

  it('/metrics is Prometheus text and contains realtime_connections', async () => {
    const c = client('2.0.0');
    await subscribed(c.channel(uniqueName()));
    const res = await http(rt.server, '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain|openmetrics/);
    const m = res.text.match(/^realtime_connections(?:\{[^}]*\})?\s+([0-9.eE+-]+)/m);
    assert.ok(m, `realtime_connections sample in:\n${res.text.slice(0, 2000)}`);
    assert.ok(Number(m[1]) >= 1, `at least one connection counted, got ${m[1]}`);
  });
});
