// The server clock (PROTOCOL.md, "Clock"): the raw `clock` push and GET /api/time, and the example's clock-sync
// helper driven through the real supabase-js. Runtime and client share this machine's clock, so the true offset is 0
// and whatever offset the helper measures is its error.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ServerClock, socketTransport, httpTransport, positionAt, PlaybackFollower, localNow,
} from '../../../../examples/listening-party/client/clock-sync.mjs';
import { RawClient, anonKey, http, runtimeForFile, subscribed, uniqueName } from './harness.mjs';

const rt = runtimeForFile();

describe('server clock', () => {
  for (const vsn of ['2.0.0', '1.0.0']) {
    it(`a clock push (vsn ${vsn}) is answered with t1 <= t2, between the client's send and receive`, async () => {
      const r = await RawClient.open(rt.server, { vsn });
      rt.clients.push(r);
      const t0 = localNow();
      const reply = await r.request('phoenix', 'clock', { t0 });
      const t3 = localNow();
      assert.equal(reply.payload.status, 'ok', JSON.stringify(reply.payload));
      const { t0: echo, t1, t2 } = reply.payload.response;
      assert.equal(echo, t0);
      assert.ok(t1 <= t2, `${t1} <= ${t2}`);
      // one clock on both sides: the server's times fall inside the client's exchange (1 ms of rounding either way)
      assert.ok(t1 >= t0 - 1 && t2 <= t3 + 1, `${t0} <= ${t1} <= ${t2} <= ${t3}`);
    });
  }

  it('GET /api/time answers t1 and t2 without a key', async () => {
    const before = localNow();
    const res = await http(rt.server, '/realtime/v1/api/time');
    assert.equal(res.status, 200);
    assert.ok(res.json.t1 >= before - 1 && res.json.t2 >= res.json.t1, res.text);
  });

  it('the helper finds a zero offset over the supabase-js socket, and corrects a clock 3 s fast', async () => {
    const c = rt.client('2.0.0');
    await subscribed(c.channel(uniqueName('clock'))); // supabase-js opens its socket with the first channel
    const honest = new ServerClock(socketTransport(c.realtime), { burst: 8 });
    await honest.resync();
    assert.ok(Math.abs(honest.offset) < 5, `offset ${honest.offset} ms, error bound ${honest.errorBound} ms`);
    const skewed = new ServerClock(socketTransport(c.realtime), { burst: 8, now: () => localNow() + 3000 });
    await skewed.resync();
    assert.ok(Math.abs(skewed.offset + 3000) < 5, `offset ${skewed.offset} ms`);
    assert.ok(Math.abs(skewed.serverNow() - localNow()) < 5, 'server time is right on a wrong clock');
  });

  it('the helper works over HTTP too', async () => {
    const clock = new ServerClock(httpTransport(rt.server.url, { apikey: anonKey(rt.server.secret) }), { burst: 5 });
    await clock.resync();
    assert.ok(Math.abs(clock.offset) < 5, `offset ${clock.offset} ms`);
  });
});

describe('clock estimate', () => {
  /** A transport whose replies take `delay` ms on a fake clock and say the server is `offset` ms ahead. */
  function fakeNetwork() {
    const net = { now: 1_000_000, replies: [] };
    net.transport = async (t0) => {
      const { delay, offset } = net.replies.shift();
      net.now += delay;
      return { t1: t0 + offset + delay / 2, t2: t0 + offset + delay / 2 };
    };
    return net;
  }

  it('a burst on a busy network keeps the good sample it had, and age retires it for a fresh one as good', async () => {
    const net = fakeNetwork();
    const clock = new ServerClock(net.transport, { now: () => net.now, burst: 2, window: 8, driftRate: 1e-4 });
    net.replies.push({ delay: 2, offset: 100 }, { delay: 2, offset: 100 });
    await clock.resync();
    assert.equal(clock.offset, 100);
    assert.equal(clock.errorBound, 1);
    // a reconnect on a congested path: slow, lopsided exchanges
    net.replies.push({ delay: 400, offset: 250 }, { delay: 300, offset: 220 });
    await clock.resync();
    assert.equal(clock.offset, 100, 'the earlier fast sample still gives the offset');
    assert.ok(clock.errorBound < 2, `error bound ${clock.errorBound}`);
    // ten minutes later the old sample counts as 2 + 120 ms of delay: a fresh 50 ms one wins
    net.now += 600_000;
    net.replies.push({ delay: 50, offset: 103 });
    await clock.sample();
    assert.equal(clock.offset, 103);
    assert.equal(clock.errorBound, 25);
  });
});

describe('playback', () => {
  it('a position moves with server time while playing and stays while paused', () => {
    const playing = { songId: 's1', positionMs: 10_000, isPlaying: true, atServerMs: 1_000_000 };
    assert.equal(positionAt(playing, 1_002_500), 12_500);
    assert.equal(positionAt({ ...playing, isPlaying: false }, 1_002_500), 10_000);
    assert.equal(positionAt(playing, 999_700), 10_000, 'a start scheduled ahead holds the position until then');
  });

  it('a start scheduled ahead begins at the DJ\'s position, with no correction before it', () => {
    let server = 5_000_000;
    const clock = { serverNow: () => server, now: () => server + 3000 }; // a local clock 3 s ahead
    const calls = [];
    const f = new PlaybackFollower(clock, {
      seek: (ms) => calls.push(['seek', ms]), play: (at) => calls.push(['play', at]), pause: () => calls.push(['pause']),
    });
    f.update({ songId: 's2', positionMs: 42_000, isPlaying: true, atServerMs: server + 300 });
    assert.deepEqual(calls, [['seek', 42_000], ['play', server + 3000 + 300]]);
    calls.length = 0;
    server += 200;
    assert.equal(f.check(42_000), 0, 'before the start the player waits at the position');
    server += 1100;
    assert.equal(f.check(43_000), 0);
    assert.deepEqual(calls, []);
  });

  it('a follower starts at the DJ\'s instant, seeks only past its threshold, and pauses', () => {
    let server = 2_000_000;
    const clock = { serverNow: () => server, now: () => server - 3000 }; // a local clock 3 s behind
    const calls = [];
    const f = new PlaybackFollower(clock, {
      thresholdMs: 40, seek: (ms) => calls.push(['seek', ms]), play: (at) => calls.push(['play', at]),
      pause: () => calls.push(['pause']),
    });
    f.update({ songId: 's1', positionMs: 0, isPlaying: true, atServerMs: server + 500 });
    assert.deepEqual(calls, [['seek', 0], ['play', server - 3000 + 500]], 'starts at the server instant, in local time');
    calls.length = 0;
    server += 2000;
    assert.equal(f.check(1470), 30, 'within the threshold: no seek');
    assert.deepEqual(calls, []);
    assert.equal(f.check(1400), 100);
    assert.deepEqual(calls, [['seek', 1500]]);
    clock.errorBound = 150; // a clock that may be this wrong cannot tell a 100 ms drift from its own error
    assert.equal(f.check(1400), 100);
    assert.deepEqual(calls, [['seek', 1500]], 'no seek within the clock\'s error bound');
    delete clock.errorBound;
    f.update({ songId: 's1', positionMs: 2100, isPlaying: false, atServerMs: server });
    assert.deepEqual(calls.slice(-2), [['pause'], ['seek', 2100]]);
  });
});
