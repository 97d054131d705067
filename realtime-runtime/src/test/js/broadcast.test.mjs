// Broadcast through the unmodified supabase-js client, for both protocol versions and across them.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  VSNS, makeClient, subscribed, collectBroadcasts, uniqueName, waitFor, broadcast, runtimeForFile,
} from './harness.mjs';

const rt = runtimeForFile();
const { clients } = rt;

const client = rt.client;

const send = broadcast;

for (const vsn of VSNS) {
  describe(`broadcast, vsn ${vsn}`, () => {
    it('subscribe reaches SUBSCRIBED', async () => {
      const ch = client(vsn).channel(uniqueName());
      await subscribed(ch);
      assert.equal(ch.state, 'joined');
    });

    it('delivers a broadcast to another client; the sender (self:false) does not get its own message', async () => {
      const name = uniqueName();
      const a = client(vsn).channel(name);
      const b = client(vsn).channel(name);
      const gotA = collectBroadcasts(a);
      const gotB = collectBroadcasts(b);
      await subscribed(a);
      await subscribed(b);

      assert.equal(await send(a, 'chat', { text: 'hello', n: 1, nested: { ok: true, list: [1, 'two', null] } }), 'ok');
      const m = await waitFor(() => gotB.find((x) => x.event === 'chat'), 5000, 'B to receive chat');
      assert.equal(m.type, 'broadcast');
      assert.deepEqual(m.payload, { text: 'hello', n: 1, nested: { ok: true, list: [1, 'two', null] } });

      // fence: B answers; once A has B's answer, A would already have had its own message if it were echoed
      await send(b, 'fence', { from: 'b' });
      await waitFor(() => gotA.find((x) => x.event === 'fence'), 5000, 'A to receive fence');
      assert.deepEqual(gotA.filter((x) => x.event === 'chat'), [], 'self:false sender must not receive its own broadcast');
      assert.equal(gotB.filter((x) => x.event === 'chat').length, 1, 'exactly one delivery');
    });

    it('self:true echoes the message back to the sender', async () => {
      const name = uniqueName();
      const a = client(vsn).channel(name, { config: { broadcast: { self: true } } });
      const gotA = collectBroadcasts(a, 'echo');
      await subscribed(a);
      await send(a, 'echo', { v: 42 });
      const m = await waitFor(() => gotA[0], 5000, 'self echo');
      assert.deepEqual(m.payload, { v: 42 });
      assert.equal(m.event, 'echo');
    });

    it('ack:true makes channel.send resolve "ok" and the message is delivered', async () => {
      const name = uniqueName();
      const a = client(vsn).channel(name, { config: { broadcast: { ack: true } } });
      const b = client(vsn).channel(name);
      const gotB = collectBroadcasts(b, 'acked');
      await subscribed(a);
      await subscribed(b);
      const results = await Promise.all([1, 2, 3].map((i) => send(a, 'acked', { i })));
      assert.deepEqual(results, ['ok', 'ok', 'ok']);
      await waitFor(() => gotB.length === 3, 5000, 'three acked messages');
      assert.deepEqual(gotB.map((x) => x.payload.i).sort(), [1, 2, 3]);
    });

    it('only listeners of the matching event are called; "*" receives all', async () => {
      const name = uniqueName();
      const a = client(vsn).channel(name);
      const b = client(vsn).channel(name);
      const onlyX = collectBroadcasts(b, 'x');
      const all = collectBroadcasts(b, '*');
      await subscribed(a);
      await subscribed(b);
      await send(a, 'y', { k: 'y' });
      await send(a, 'x', { k: 'x' });
      await waitFor(() => all.length === 2, 5000, 'both events on *');
      assert.deepEqual(onlyX.map((m) => m.payload), [{ k: 'x' }]);
    });

    it('the client\'s heartbeats are answered (heartbeatCallback reports "ok")', async () => {
      const c = makeClient(rt.server, { vsn, realtime: { heartbeatIntervalMs: 200 } });
      clients.push(c);
      const beats = [];
      c.realtime.onHeartbeat((status) => beats.push(status));
      await subscribed(c.channel(uniqueName()));
      await waitFor(() => beats.filter((b) => b === 'ok').length >= 3, 5000, 'three heartbeat replies');
      assert.deepEqual(beats.filter((b) => b === 'timeout' || b === 'error'), []);
      assert.ok(c.realtime.isConnected());
    });

    it('a channel with another name does not receive the broadcast', async () => {
      const name = uniqueName();
      const a = client(vsn).channel(name);
      const other = client(vsn);
      const bOther = other.channel(uniqueName());
      const bSame = other.channel(name);
      const gotOther = collectBroadcasts(bOther);
      const gotSame = collectBroadcasts(bSame);
      await subscribed(a);
      await subscribed(bOther);
      await subscribed(bSame);
      await send(a, 'e', { x: 1 });
      await waitFor(() => gotSame.length === 1, 5000, 'same-name channel to receive');
      assert.equal(gotOther.length, 0);
    });
  });
}

describe('broadcast across protocol versions', () => {
  it('JSON broadcast from a vsn 2.0.0 client reaches a vsn 1.0.0 client and vice versa', async () => {
    const name = uniqueName();
    const v2 = client('2.0.0').channel(name);
    const v1 = client('1.0.0').channel(name);
    const got2 = collectBroadcasts(v2);
    const got1 = collectBroadcasts(v1);
    await subscribed(v2);
    await subscribed(v1);

    await send(v2, 'from-v2', { a: [1, 2, 3], s: 'ünïcödé ✓' });
    const m1 = await waitFor(() => got1.find((m) => m.event === 'from-v2'), 5000, 'v1 client to receive from v2');
    assert.deepEqual(m1.payload, { a: [1, 2, 3], s: 'ünïcödé ✓' });

    await send(v1, 'from-v1', { b: { c: false } });
    const m2 = await waitFor(() => got2.find((m) => m.event === 'from-v1'), 5000, 'v2 client to receive from v1');
    assert.deepEqual(m2.payload, { b: { c: false } });
  });

  it('binary broadcast (ArrayBuffer) from a vsn 2.0.0 client reaches vsn 2.0.0 subscribers as bytes, not vsn 1.0.0 ones', async () => {
    const name = uniqueName();
    const sender = client('2.0.0').channel(name, { config: { broadcast: { ack: true } } });
    const v2 = client('2.0.0').channel(name);
    const v1 = client('1.0.0').channel(name);
    const got2 = collectBroadcasts(v2);
    const got1 = collectBroadcasts(v1);
    await subscribed(sender);
    await subscribed(v2);
    await subscribed(v1);

    const bytes = new Uint8Array(1000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + 11) % 256;
    bytes[0] = 0; bytes[1] = 255; // not valid UTF-8 / JSON
    assert.equal(await send(sender, 'bin', bytes.buffer), 'ok');

    const m = await waitFor(() => got2.find((x) => x.event === 'bin'), 5000, 'v2 subscriber to receive binary');
    assert.ok(m.payload instanceof ArrayBuffer, `payload should be an ArrayBuffer, got ${Object.prototype.toString.call(m.payload)}`);
    assert.deepEqual(Buffer.from(m.payload), Buffer.from(bytes));

    // fence: a JSON message after the binary one; the vsn 1.0.0 client gets the fence but never the bytes
    assert.equal(await send(sender, 'fence', { after: 'bin' }), 'ok');
    await waitFor(() => got1.find((x) => x.event === 'fence'), 5000, 'v1 subscriber to receive fence');
    await waitFor(() => got2.find((x) => x.event === 'fence'), 5000, 'v2 subscriber to receive fence');
    assert.deepEqual(got1.filter((x) => x.event === 'bin'), [], 'vsn 1.0.0 must not receive binary payloads');
  });
});
