// Presence through supabase-js: sync/join/leave, convergence, re-track, untrack, abrupt disconnect,
// unsubscribe, generated keys. Run for both protocol versions.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  VSNS, makeClient, subscribed, uniqueName, waitFor, RawClient, underlyingSocket, runtimeForFile,
} from './harness.mjs';

const rt = runtimeForFile();
const { clients } = rt;

/** A presence-enabled channel with event logs. */
function presenceChannel(vsn, name, key) {
  const c = makeClient(rt.server, { vsn });
  clients.push(c);
  const ch = c.channel(name, { config: { presence: { key } } });
  const log = { syncs: 0, joins: [], leaves: [] };
  ch.on('presence', { event: 'sync' }, () => { log.syncs += 1; });
  ch.on('presence', { event: 'join' }, ({ key: k, newPresences }) => log.joins.push({ key: k, newPresences }));
  ch.on('presence', { event: 'leave' }, ({ key: k, leftPresences }) => log.leaves.push({ key: k, leftPresences }));
  return { client: c, ch, log, key };
}

const keysOf = (ch) => Object.keys(ch.presenceState()).sort();
const sameKeys = (ch, expected) => JSON.stringify(keysOf(ch)) === JSON.stringify([...expected].sort());

for (const vsn of VSNS) {
  describe(`presence, vsn ${vsn}`, () => {
    it('three clients converge; re-track updates the meta; untrack and unsubscribe produce leaves', async () => {
      const name = uniqueName('presence');
      const peers = ['alice', 'bob', 'carol'].map((k) => presenceChannel(vsn, name, `${k}-${vsn}`));
      const [a, b, c] = peers;
      const allKeys = peers.map((p) => p.key);
      for (const p of peers) await subscribed(p.ch);
      for (const p of peers) {
        assert.equal(await p.ch.track({ user: p.key, status: 'online' }), 'ok');
      }

      for (const p of peers) {
        await waitFor(() => sameKeys(p.ch, allKeys), 5000, `${p.key} to see all three keys (has ${keysOf(p.ch)})`);
      }
      for (const p of peers) {
        const state = p.ch.presenceState();
        for (const q of peers) {
          assert.equal(state[q.key].length, 1, `one meta for ${q.key} in ${p.key}'s state`);
          assert.equal(state[q.key][0].user, q.key);
          assert.equal(state[q.key][0].status, 'online');
          assert.equal(typeof state[q.key][0].presence_ref, 'string');
          assert.ok(state[q.key][0].presence_ref.length > 0);
        }
        assert.ok(p.log.syncs > 0, `${p.key} got sync events`);
        // every peer saw a join for each of the others (a may have joined before b and c tracked)
        for (const q of peers) {
          assert.ok(p.log.joins.some((j) => j.key === q.key), `${p.key} saw join of ${q.key}`);
        }
      }
      // presence_ref is the same for a given presence in every client's state
      const refOfA = a.ch.presenceState()[a.key][0].presence_ref;
      assert.equal(b.ch.presenceState()[a.key][0].presence_ref, refOfA);
      assert.equal(c.ch.presenceState()[a.key][0].presence_ref, refOfA);

      // re-track with a changed payload: the meta is replaced, still one meta per key
      const joinsBefore = b.log.joins.length;
      assert.equal(await a.ch.track({ user: a.key, status: 'away' }), 'ok');
      for (const p of [b, c]) {
        await waitFor(() => p.ch.presenceState()[a.key]?.[0]?.status === 'away', 5000, `${p.key} to see alice away`);
        assert.equal(p.ch.presenceState()[a.key].length, 1, 're-track must not add a second meta');
      }
      assert.ok(b.log.joins.length > joinsBefore, 're-track produces a join event');
      assert.notEqual(b.ch.presenceState()[a.key][0].presence_ref, refOfA, 'a re-track gets a new presence_ref');

      // untrack: alice leaves everybody's state
      assert.equal(await a.ch.untrack(), 'ok');
      for (const p of [b, c]) {
        await waitFor(() => sameKeys(p.ch, [b.key, c.key]), 5000, `${p.key} to drop alice after untrack`);
        assert.ok(p.log.leaves.some((l) => l.key === a.key), `${p.key} got a leave for alice`);
      }
      await waitFor(() => !keysOf(a.ch).includes(a.key), 5000, 'alice to drop herself after untrack');

      // unsubscribe: bob leaves the channel, carol (and alice, still subscribed) see the leave
      assert.equal(await b.ch.unsubscribe(), 'ok');
      await waitFor(() => sameKeys(c.ch, [c.key]), 5000, 'carol to drop bob after unsubscribe');
      await waitFor(() => sameKeys(a.ch, [c.key]), 5000, 'alice to drop bob after unsubscribe');
      assert.ok(c.log.leaves.some((l) => l.key === b.key));
    });

    it('an identical re-track sends nothing new: the presence_ref stays the same', async () => {
      const name = uniqueName('presence');
      const a = presenceChannel(vsn, name, 'same-a');
      const b = presenceChannel(vsn, name, 'same-b');
      await subscribed(a.ch);
      await subscribed(b.ch);
      assert.equal(await a.ch.track({ mood: 'calm' }), 'ok');
      await waitFor(() => b.ch.presenceState()[a.key], 5000, 'b to see a');
      const ref = b.ch.presenceState()[a.key][0].presence_ref;
      const joinsOfA = () => b.log.joins.filter((j) => j.key === a.key).length;
      const before = joinsOfA();
      assert.equal(await a.ch.track({ mood: 'calm' }), 'ok');
      // fence: b tracks and waits until a sees it; a's (non-)diff would have arrived earlier at b
      assert.equal(await b.ch.track({ mood: 'fence' }), 'ok');
      await waitFor(() => a.ch.presenceState()[b.key], 5000, 'a to see b');
      await waitFor(() => b.ch.presenceState()[b.key], 5000, 'b to see itself');
      assert.equal(b.ch.presenceState()[a.key][0].presence_ref, ref);
      assert.equal(joinsOfA(), before, 'an identical re-track must not produce a join');
      assert.equal(b.log.leaves.filter((l) => l.key === a.key).length, 0, 'nor a leave');
    });

    it('an abrupt disconnect of a raw socket removes its presence from the others', async () => {
      const name = uniqueName('presence');
      const a = presenceChannel(vsn, name, 'watcher-a');
      const b = presenceChannel(vsn, name, 'watcher-b');
      await subscribed(a.ch);
      await subscribed(b.ch);
      await a.ch.track({ w: 'a' });

      const raw = await RawClient.open(rt.server, { vsn });
      clients.push(raw);
      const { reply, joinRef, topic } = await raw.join(name, { config: { presence: { key: 'raw-d', enabled: true } } });
      assert.equal(reply.payload.status, 'ok', JSON.stringify(reply.payload));
      const trackReply = await raw.request(topic, 'presence', { type: 'presence', event: 'track', payload: { w: 'raw' } }, { joinRef });
      assert.equal(trackReply.payload.status, 'ok', JSON.stringify(trackReply.payload));
      // the raw client itself receives the presence state (after join) and diffs
      await raw.waitMessage((m) => m.event === 'presence_state' && m.topic === topic, 5000, 'presence_state');
      await raw.waitMessage((m) => m.event === 'presence_diff' && m.payload?.joins?.['raw-d'], 5000, 'own join diff');

      for (const p of [a, b]) {
        await waitFor(() => keysOf(p.ch).includes('raw-d'), 5000, `${p.key} to see raw-d`);
      }
      raw.terminate(); // no close frame, no phx_leave
      for (const p of [a, b]) {
        await waitFor(() => !keysOf(p.ch).includes('raw-d'), 10_000, `${p.key} to see raw-d leave after terminate`);
        assert.ok(p.log.leaves.some((l) => l.key === 'raw-d'));
      }
      assert.ok(keysOf(b.ch).includes('watcher-a'), 'other presences are untouched');
    });

    it('terminating the socket of a supabase-js client removes its presence from the others', async () => {
      const name = uniqueName('presence');
      const a = presenceChannel(vsn, name, 'stay');
      const gone = presenceChannel(vsn, name, 'gone');
      await subscribed(a.ch);
      await subscribed(gone.ch);
      await gone.ch.track({ bye: true });
      await waitFor(() => keysOf(a.ch).includes('gone'), 5000, 'a to see gone');
      // closeWasClean=true keeps realtime-js from reconnecting (and re-joining) after the abrupt close
      gone.client.realtime.socketAdapter.getSocket().closeWasClean = true;
      underlyingSocket(gone.client).terminate();
      await waitFor(() => !keysOf(a.ch).includes('gone'), 10_000, 'leave after terminate');
      assert.ok(a.log.leaves.some((l) => l.key === 'gone'));
    });

    it('an empty presence key gets a generated non-empty key', async () => {
      const name = uniqueName('presence');
      const watcher = presenceChannel(vsn, name, 'watcher');
      const anon = presenceChannel(vsn, name, '');
      await subscribed(watcher.ch);
      await subscribed(anon.ch);
      assert.equal(await anon.ch.track({ anonymous: true }), 'ok');
      const key = await waitFor(() => keysOf(watcher.ch).find((k) => k !== 'watcher'), 5000, 'generated key');
      assert.equal(typeof key, 'string');
      assert.ok(key.length > 0);
      assert.equal(watcher.ch.presenceState()[key][0].anonymous, true);
      await waitFor(() => keysOf(anon.ch).includes(key), 5000, 'the tracker sees the same generated key');
    });

    it('two sockets sharing one key show two metas under that key', async () => {
      const name = uniqueName('presence');
      const watcher = presenceChannel(vsn, name, 'w');
      const tab1 = presenceChannel(vsn, name, 'shared');
      const tab2 = presenceChannel(vsn, name, 'shared');
      for (const p of [watcher, tab1, tab2]) await subscribed(p.ch);
      await tab1.ch.track({ tab: 1 });
      await tab2.ch.track({ tab: 2 });
      await waitFor(() => watcher.ch.presenceState().shared?.length === 2, 5000, 'two metas under shared');
      assert.deepEqual(watcher.ch.presenceState().shared.map((m) => m.tab).sort(), [1, 2]);
      await tab2.ch.untrack();
      await waitFor(() => watcher.ch.presenceState().shared?.length === 1, 5000, 'one meta left');
      assert.equal(watcher.ch.presenceState().shared[0].tab, 1);
    });
  });
}
