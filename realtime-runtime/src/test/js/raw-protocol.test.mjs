// Low-level protocol checks over a raw `ws` socket: robustness against malformed frames, heartbeat,
// large frames, join/leave replies, both endpoint paths, both serializers.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  uniqueName, RawClient, encodeKind3, userToken, runtimeForFile,
} from './harness.mjs';

const rt = runtimeForFile();
const { clients } = rt;

async function raw(opts) {
  const r = await RawClient.open(rt.server, opts);
  clients.push(r);
  return r;
}

describe('raw socket, vsn 2.0.0', () => {
  it('garbage, wrong-arity arrays and unknown binary kinds are ignored; heartbeat still answers', async () => {
    const r = await raw({ vsn: '2.0.0' });
    r.sendRaw('not json');
    r.sendRaw('[1,2]');
    r.sendRaw('["1","1","realtime:x","phx_join"]');
    r.sendRaw('{"topic":"phoenix"}');
    r.sendRaw('');
    r.sendRaw(Buffer.from([99, 1, 2, 3, 4, 5, 6, 7]), { binary: true });
    r.sendRaw(Buffer.from([3, 200, 200]), { binary: true }); // truncated kind 3
    r.sendRaw('[null,"1","phoenix","heartbeat",{}]');
    const reply = await r.waitMessage((m) => m.event === 'phx_reply' && m.topic === 'phoenix' && m.ref === '1', 5000, 'heartbeat reply');
    assert.deepEqual(JSON.parse(reply.raw), [null, '1', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
    assert.equal(r.closed, false, 'socket stays open');
  });

  it('join reply is ok with postgres_changes [] ; leave replies ok then phx_close', async () => {
    const r = await raw({ vsn: '2.0.0' });
    const { reply, joinRef, topic } = await r.join(uniqueName('rj'));
    assert.equal(reply.join_ref, joinRef);
    assert.deepEqual(reply.payload, { status: 'ok', response: { postgres_changes: [] } });
    const leave = await r.request(topic, 'phx_leave', {}, { joinRef });
    assert.equal(leave.payload.status, 'ok');
    await r.waitMessage((m) => m.event === 'phx_close' && m.topic === topic, 5000, 'phx_close after leave');
  });

  it('an empty topic name is refused with TopicNameRequired', async () => {
    const r = await raw({ vsn: '2.0.0' });
    const { reply } = await r.join('');
    assert.equal(reply.payload.status, 'error');
    assert.match(reply.payload.response.reason, /TopicNameRequired: You must provide a topic name/);
  });

  it('a text-JSON broadcast and a kind-3 binary broadcast both reach another vsn 2.0.0 socket', async () => {
    const name = uniqueName('rb');
    const a = await raw({ vsn: '2.0.0' });
    const b = await raw({ vsn: '2.0.0' });
    const ja = await a.join(name, { config: { broadcast: { ack: true, self: false } } });
    await b.join(name);
    const ack = await a.request(ja.topic, 'broadcast', { type: 'broadcast', event: 'txt', payload: { t: 1 } }, { joinRef: ja.joinRef });
    assert.equal(ack.payload.status, 'ok');
    const ref = a.nextRef();
    a.sendRaw(encodeKind3({ joinRef: ja.joinRef, ref, topic: ja.topic, event: 'bin3', encoding: 1, payload: { t: 2 } }), { binary: true });
    const ack2 = await a.waitMessage((m) => m.event === 'phx_reply' && m.ref === ref, 5000, 'ack of kind 3');
    assert.equal(ack2.payload.status, 'ok');

    const gotTxt = await b.waitMessage((m) => m.event === 'broadcast' && m.payload?.event === 'txt', 5000, 'txt broadcast');
    const gotBin = await b.waitMessage((m) => m.event === 'broadcast' && m.payload?.event === 'bin3', 5000, 'bin3 broadcast');
    assert.deepEqual(gotTxt.payload.payload, { t: 1 });
    assert.deepEqual(gotBin.payload.payload, { t: 2 });
  });

  it('a 2.5 MB broadcast payload is accepted (frame limit at least 3 MB) and delivered', async () => {
    const name = uniqueName('huge');
    const a = await raw({ vsn: '2.0.0' });
    const b = await raw({ vsn: '2.0.0' });
    const ja = await a.join(name, { config: { broadcast: { ack: true } } });
    await b.join(name);
    const blob = 'abcdefghij'.repeat(250_000); // 2.5 MB
    const ack = await a.request(ja.topic, 'broadcast', { type: 'broadcast', event: 'huge', payload: { blob } },
      { joinRef: ja.joinRef, timeoutMs: 15_000 });
    assert.equal(ack.payload.status, 'ok', JSON.stringify(ack.payload));
    const got = await b.waitMessage((m) => m.event === 'broadcast' && m.payload?.event === 'huge', 15_000, 'huge broadcast');
    assert.equal(got.payload.payload.blob.length, blob.length);
    assert.equal(got.payload.payload.blob, blob);
    assert.equal(a.closed, false);

    // the same as a binary kind-3 frame
    const ref = a.nextRef();
    a.sendRaw(encodeKind3({ joinRef: ja.joinRef, ref, topic: ja.topic, event: 'huge3', encoding: 0, payload: Buffer.alloc(2_500_000, 7) }), { binary: true });
    const ack2 = await a.waitMessage((m) => m.event === 'phx_reply' && m.ref === ref, 15_000, 'ack of huge kind 3');
    assert.equal(ack2.payload.status, 'ok', JSON.stringify(ack2.payload));
    const got2 = await b.waitMessage((m) => m.event === 'broadcast' && m.payload?.event === 'huge3', 15_000, 'huge binary broadcast');
    assert.equal(got2.payload.payload.length, 2_500_000);
    assert.equal(got2.binary, true);
  });
});

describe('raw socket, vsn 1.0.0 and paths', () => {
  it('vsn 1.0.0 heartbeat and join use JSON objects', async () => {
    const r = await raw({ vsn: '1.0.0' });
    r.sendRaw('garbage');
    r.sendRaw(JSON.stringify({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: '7', join_ref: null }));
    const hb = await r.waitMessage((m) => m.ref === '7', 5000, 'heartbeat reply');
    const parsed = JSON.parse(hb.raw);
    assert.ok(!Array.isArray(parsed), 'a vsn 1.0.0 reply is a JSON object');
    assert.equal(parsed.topic, 'phoenix');
    assert.equal(parsed.event, 'phx_reply');
    assert.deepEqual(parsed.payload, { status: 'ok', response: {} });
    const { reply } = await r.join(uniqueName('v1'));
    assert.equal(reply.payload.status, 'ok');
  });

  it('no vsn parameter means 1.0.0', async () => {
    const r = await raw({ vsn: null });
    r.sendRaw(JSON.stringify({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: '1', join_ref: null }));
    const hb = await r.waitMessage((m) => m.ref === '1', 5000, 'heartbeat reply');
    assert.ok(!Array.isArray(JSON.parse(hb.raw)));
  });

  it('/socket/websocket works like /realtime/v1/websocket, and the two interoperate', async () => {
    const name = uniqueName('paths');
    const a = await raw({ vsn: '2.0.0', path: '/socket/websocket' });
    const b = await raw({ vsn: '1.0.0', path: '/realtime/v1/websocket' });
    const ja = await a.join(name, { config: { broadcast: { ack: true } } });
    const jb = await b.join(name);
    assert.equal(ja.reply.payload.status, 'ok');
    assert.equal(jb.reply.payload.status, 'ok');
    await a.request(ja.topic, 'broadcast', { type: 'broadcast', event: 'p', payload: { x: 1 } }, { joinRef: ja.joinRef });
    const got = await b.waitMessage((m) => m.event === 'broadcast' && m.payload?.event === 'p', 5000, 'cross-path broadcast');
    assert.deepEqual(got.payload, { type: 'broadcast', event: 'p', payload: { x: 1 } });
    assert.equal(got.join_ref ?? null, null);
  });

  it('presence track with a non-object payload replies an error', async () => {
    const r = await raw({ vsn: '2.0.0' });
    const { joinRef, topic } = await r.join(uniqueName('pbad'), { config: { presence: { key: 'k', enabled: true } } });
    const reply = await r.request(topic, 'presence', { type: 'presence', event: 'track', payload: 'nope' }, { joinRef });
    assert.equal(reply.payload.status, 'error');
    assert.match(JSON.stringify(reply.payload.response), /Presence track payload must be a map/);
    // the socket and the channel survive
    const ok = await r.request(topic, 'presence', { type: 'presence', event: 'track', payload: { fine: true } }, { joinRef });
    assert.equal(ok.payload.status, 'ok');
    assert.equal(r.closed, false);
  });

  it('the optional log_level query parameter is accepted', async () => {
    const r = await raw({ vsn: '2.0.0', extra: { log_level: 'info' } });
    const { reply } = await r.join(uniqueName('ll'));
    assert.equal(reply.payload.status, 'ok');
  });
});

describe('raw presence wire format', () => {
  for (const vsn of ['2.0.0', '1.0.0']) {
    it(`vsn ${vsn}: presence_state after join, diffs with phx_ref / phx_ref_prev, identical re-track sends nothing`, async () => {
      const name = uniqueName('pw');
      const a = await raw({ vsn });
      const b = await raw({ vsn });
      const ja = await a.join(name, { config: { presence: { key: 'ka', enabled: true } } });
      assert.equal(ja.reply.payload.status, 'ok');
      const state0 = await a.waitMessage((m) => m.event === 'presence_state' && m.topic === ja.topic, 5000, 'presence_state');
      assert.deepEqual(state0.payload, {});
      assert.equal(state0.ref ?? null, null);

      const t1 = await a.request(ja.topic, 'presence', { type: 'presence', event: 'track', payload: { v: 1 } }, { joinRef: ja.joinRef });
      assert.deepEqual(t1.payload, { status: 'ok', response: {} });
      const d1 = await a.waitMessage((m) => m.event === 'presence_diff' && m.payload.joins?.ka, 5000, 'join diff');
      assert.deepEqual(d1.payload.leaves, {});
      assert.equal(d1.payload.joins.ka.metas.length, 1);
      const meta1 = d1.payload.joins.ka.metas[0];
      assert.equal(typeof meta1.phx_ref, 'string');
      assert.equal(meta1.v, 1);

      // a late joiner gets the current state
      const jb = await b.join(name, { config: { presence: { key: 'kb', enabled: true } } });
      const stateB = await b.waitMessage((m) => m.event === 'presence_state' && m.topic === jb.topic, 5000, 'presence_state for b');
      assert.deepEqual(Object.keys(stateB.payload), ['ka']);
      assert.equal(stateB.payload.ka.metas[0].phx_ref, meta1.phx_ref);
      assert.equal(stateB.payload.ka.metas[0].v, 1);

      // changed payload: one diff with the new meta (phx_ref_prev = old ref) in joins and the old one in leaves
      await a.request(ja.topic, 'presence', { type: 'presence', event: 'track', payload: { v: 2 } }, { joinRef: ja.joinRef });
      const d2 = await b.waitMessage((m) => m.event === 'presence_diff' && m.payload.joins?.ka, 5000, 're-track diff');
      assert.equal(d2.payload.joins.ka.metas[0].v, 2);
      assert.equal(d2.payload.joins.ka.metas[0].phx_ref_prev, meta1.phx_ref);
      assert.notEqual(d2.payload.joins.ka.metas[0].phx_ref, meta1.phx_ref);
      assert.equal(d2.payload.leaves.ka.metas[0].phx_ref, meta1.phx_ref);

      // identical payload: nothing; fence with b's own track
      const diffsBefore = b.messages.filter((m) => m.event === 'presence_diff').length;
      await a.request(ja.topic, 'presence', { type: 'presence', event: 'track', payload: { v: 2 } }, { joinRef: ja.joinRef });
      await b.request(jb.topic, 'presence', { type: 'presence', event: 'track', payload: { fence: true } }, { joinRef: jb.joinRef });
      await b.waitMessage((m) => m.event === 'presence_diff' && m.payload.joins?.kb, 5000, 'fence diff');
      const diffsAfter = b.messages.filter((m) => m.event === 'presence_diff');
      assert.equal(diffsAfter.length, diffsBefore + 1, `only the fence diff: ${JSON.stringify(diffsAfter.slice(diffsBefore))}`);

      // leaving sends a leave
      await a.request(ja.topic, 'phx_leave', {}, { joinRef: ja.joinRef });
      const d3 = await b.waitMessage((m) => m.event === 'presence_diff' && m.payload.leaves?.ka && !m.payload.joins?.ka, 5000, 'leave diff');
      assert.equal(d3.payload.leaves.ka.metas[0].v, 2);
    });
  }
});

describe('raw join config details', () => {
  it('booleans may arrive as strings: self "true" echoes, ack "true" replies', async () => {
    const r = await raw({ vsn: '2.0.0' });
    const j = await r.join(uniqueName('strbool'), { config: { broadcast: { self: 'true', ack: 'true' }, private: 'false' } });
    assert.equal(j.reply.payload.status, 'ok', JSON.stringify(j.reply.payload));
    const ack = await r.request(j.topic, 'broadcast', { type: 'broadcast', event: 'sb', payload: { s: 1 } }, { joinRef: j.joinRef });
    assert.equal(ack.payload.status, 'ok');
    await r.waitMessage((m) => m.event === 'broadcast' && m.payload?.event === 'sb', 5000, 'self echo');
  });

  it('an access_token event with an expired token ends the channel: system error, then phx_close', async () => {
    const r = await raw({ vsn: '2.0.0' });
    const j = await r.join(uniqueName('at-exp'));
    r.push(j.topic, 'access_token', { access_token: userToken(rt.server.secret, 'x', { expSeconds: -10 }) }, { joinRef: j.joinRef });
    const sys = await r.waitMessage((m) => m.event === 'system' && m.topic === j.topic, 5000, 'system error');
    assert.equal(sys.payload.status, 'error');
    assert.equal(sys.payload.extension, 'system');
    assert.match(sys.payload.message, /expired/i);
    await r.waitMessage((m) => m.event === 'phx_close' && m.topic === j.topic, 5000, 'phx_close');
    assert.ok(r.messages.findIndex((m) => m.event === 'system') < r.messages.findIndex((m) => m.event === 'phx_close'));
  });
});
