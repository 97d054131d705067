// Where Supabase Realtime's own server decides what a client sees, and our first answers differed: each case is
// driven through the real supabase-js where the client shows it, and over a raw socket where it hides the frame.
// docs/compatibility.md lists every case with its Supabase source.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RawClient, anonKey, collectBroadcasts, http, jwt, runtimeForFile, sleep, subscribe, subscribed, tryUpgrade,
  uniqueName, userToken, waitFor, wsUrl,
} from './harness.mjs';

const rt = runtimeForFile({ REALTIME_MAX_PRESENCE_CALLS: 3 });

async function raw(opts) {
  const r = await RawClient.open(rt.server, opts);
  rt.clients.push(r);
  return r;
}

function systemMessages(channel) {
  const got = [];
  channel.on('system', {}, (m) => got.push(m));
  return got;
}

describe('handshake', () => {
  it('the x-api-key header wins over the apikey parameter, as in Supabase', async () => {
    const url = wsUrl(rt.server, { apikey: 'not-a-jwt' });
    const res = await tryUpgrade(url, { headers: { 'x-api-key': anonKey(rt.server.secret) } });
    assert.equal(res.opened, true, `${res.status} ${res.body}`);
    res.ws.terminate();
    const refused = await tryUpgrade(wsUrl(rt.server, { apikey: anonKey(rt.server.secret) }),
      { headers: { 'x-api-key': 'not-a-jwt' } });
    assert.equal(refused.status, 401);
  });
});

describe('joins', () => {
  it('replay on a public channel is refused with UnableToReplayMessages', async () => {
    const c = rt.client('2.0.0');
    const ch = c.channel(uniqueName('public-replay'));
    // supabase-js 2.119 refuses replay on a public channel in its constructor; an app can still set it after
    ch.params.config.broadcast.replay = { since: Date.now() - 60_000, limit: 10 };
    const { status, err } = await subscribe(ch);
    assert.equal(status, 'CHANNEL_ERROR');
    assert.match(String(err?.message ?? err), /UnableToReplayMessages: Replay is not allowed for public channels/);
  });

  it('replay: null on a public channel is refused too (raw), and a private channel with bad params is told so', async () => {
    const r = await raw();
    const pub = await r.join(uniqueName('pr'), { config: { broadcast: { replay: null } } });
    assert.deepEqual(pub.reply.payload, {
      status: 'error', response: { reason: 'UnableToReplayMessages: Replay is not allowed for public channels' },
    });
    // private channels authorize by role when there is no database: service_role may read
    const priv = await r.join(uniqueName('pr'), {
      config: { private: true, broadcast: { replay: { since: 'yesterday' } } },
      accessToken: jwt({ role: 'service_role', exp: Math.floor(Date.now() / 1000) + 600 }, rt.server.secret),
    });
    assert.deepEqual(priv.reply.payload, {
      status: 'error', response: { reason: 'UnableToReplayMessages: Replay params are not valid' },
    });
  });

  it('a malformed join token is MalformedJWT and a foreign signature is JwtSignatureError', async () => {
    const r = await raw();
    const malformed = await r.join(uniqueName('tok'), { accessToken: 'not-a-jwt' });
    assert.equal(malformed.reply.payload.response.reason, 'MalformedJWT: The token provided is not a valid JWT');
    const foreign = await r.join(uniqueName('tok'), { accessToken: userToken('another-secret-0123456789-abcdefghijklmn') });
    assert.equal(foreign.reply.payload.response.reason, 'JwtSignatureError: Failed to validate JWT signature');
  });

  it('an API key (sb_...) as the join access_token means the socket\'s token', async () => {
    const r = await raw();
    const { reply } = await r.join(uniqueName('sbkey'), { accessToken: 'sb_publishable_abcdef0123456789' });
    assert.equal(reply.payload.status, 'ok', JSON.stringify(reply.payload));
  });
});

describe('leave', () => {
  it('phx_leave of a topic never joined, or left already, is answered ok {} with no phx_close', async () => {
    const r = await raw();
    const never = await r.request('realtime:never-joined', 'phx_leave', {}, { joinRef: '77' });
    assert.deepEqual(JSON.parse(never.raw), ['77', never.ref, 'realtime:never-joined', 'phx_reply',
      { status: 'ok', response: {} }]);
    const { joinRef, topic } = await r.join(uniqueName('twice'));
    await r.request(topic, 'phx_leave', {}, { joinRef });
    await r.waitMessage((m) => m.event === 'phx_close' && m.topic === topic);
    const again = await r.request(topic, 'phx_leave', {}, { joinRef });
    assert.deepEqual(again.payload, { status: 'ok', response: {} });
    await sleep(200);
    assert.equal(r.messages.filter((m) => m.event === 'phx_close').length, 1, 'no second phx_close');
  });

  it('supabase-js removing a channel twice sees no error', async () => {
    const c = rt.client('2.0.0');
    const ch = c.channel(uniqueName('remove'));
    await subscribed(ch);
    assert.equal(await ch.unsubscribe(), 'ok');
    assert.equal(await ch.unsubscribe(), 'ok');
  });
});

describe('presence rate limit (3 calls per window here)', () => {
  it('the call over the limit closes the channel with a system error, as Supabase does', async () => {
    const c = rt.client('2.0.0', { timeout: 2000 });
    const ch = c.channel(uniqueName('pres'), { config: { presence: { key: 'spammer' } } });
    const sys = systemMessages(ch);
    await subscribed(ch);
    assert.equal(await ch.track({ n: 1 }), 'ok');
    assert.equal(await ch.untrack(), 'ok');
    assert.equal(await ch.track({ n: 2 }), 'ok');
    ch.track({ n: 3 }).catch(() => {});
    await waitFor(() => sys.length === 1, 5000, 'system message');
    assert.deepEqual({ status: sys[0].status, message: sys[0].message },
      { status: 'error', message: 'Client presence rate limit exceeded' });
    await waitFor(() => ch.state === 'closed', 5000, 'channel closed');
  });

  it('raw: no reply to the refused call, then system error and phx_close', async () => {
    const r = await raw();
    const name = uniqueName('pres-raw');
    const { joinRef, topic } = await r.join(name, { config: { presence: { key: 'k', enabled: true } } });
    for (let i = 0; i < 3; i++) {
      const ok = await r.request(topic, 'presence', { type: 'presence', event: 'track', payload: { i } }, { joinRef });
      assert.equal(ok.payload.status, 'ok');
    }
    const ref = r.push(topic, 'presence', { type: 'presence', event: 'track', payload: { i: 3 } }, { joinRef });
    const close = await r.waitMessage((m) => m.event === 'phx_close' && m.topic === topic);
    const system = r.messages.find((m) => m.event === 'system' && m.topic === topic);
    assert.deepEqual(JSON.parse(system.raw), [joinRef, null, topic, 'system',
      { extension: 'system', status: 'error', message: 'Client presence rate limit exceeded', channel: name }]);
    assert.deepEqual(JSON.parse(close.raw), [joinRef, joinRef, topic, 'phx_close', {}]);
    assert.equal(r.messages.some((m) => m.event === 'phx_reply' && m.ref === ref), false, 'no reply to the refused call');
  });

  it('a presence message without an event is answered ok and not counted', async () => {
    const r = await raw();
    const { joinRef, topic } = await r.join(uniqueName('pres-none'));
    for (let i = 0; i < 5; i++) {
      const reply = await r.request(topic, 'presence', { type: 'presence' }, { joinRef });
      assert.deepEqual(reply.payload, { status: 'ok', response: {} });
    }
    const track = await r.request(topic, 'presence', { type: 'presence', event: 'TRACK' }, { joinRef });
    assert.deepEqual(track.payload, { status: 'ok', response: {} }, 'event names are case-insensitive, payload may be absent');
  });
});

describe('access_token messages', () => {
  it('null (signed out) or an API key leaves the channel open, as Supabase ignores them', async () => {
    const c = rt.client('2.0.0', { accessToken: userToken(rt.server.secret) });
    const ch = c.channel(uniqueName('signout'), { config: { broadcast: { self: true, ack: true } } });
    const sys = systemMessages(ch);
    const got = collectBroadcasts(ch, 'after');
    await subscribed(ch);
    c.tokenHolder.token = null;
    await c.realtime.setAuth(); // pushes {access_token: null}
    await c.realtime.setAuth('sb_publishable_abcdef0123456789');
    await sleep(300);
    assert.equal(await ch.send({ type: 'broadcast', event: 'after', payload: { n: 1 } }), 'ok');
    await waitFor(() => got.length === 1, 5000, 'broadcast after the token messages');
    assert.deepEqual(sys, []);
    assert.equal(ch.state, 'joined');
  });
});

describe('REST broadcast', () => {
  const headers = () => ({ apikey: anonKey(rt.server.secret), 'content-type': 'application/json' });
  const batch = (body) => http(rt.server, '/api/broadcast', { method: 'POST', headers: headers(), body: JSON.stringify(body) });

  it('a payload that is not an object is 422 with the field named, one entry a message', async () => {
    for (const payload of ['text', 42, [1, 2]]) {
      const res = await batch({ messages: [{ topic: 't', event: 'e', payload }] });
      assert.equal(res.status, 422, res.text);
      assert.deepEqual(res.json, { errors: { messages: [{ payload: ['is invalid'] }] } });
    }
    const second = await batch({ messages: [{ topic: 't', event: 'e', payload: {} }, { topic: 't', event: 'e', payload: 'x' }] });
    assert.deepEqual(second.json, { errors: { messages: [{}, { payload: ['is invalid'] }] } });
  });

  it('missing fields, a missing list, a bad id or private flag are 422 in Supabase\'s shape, and nothing is sent', async () => {
    const cases = [
      [{ messages: [{ topic: 't', event: 'e' }] }, { errors: { messages: [{ payload: ["can't be blank"] }] } }],
      [{ messages: [{ topic: '', event: 'e', payload: {} }] }, { errors: { messages: [{ topic: ["can't be blank"] }] } }],
      [{}, { errors: { messages: ["can't be blank"] } }],
      [{ messages: 'nope' }, { errors: { messages: ['is invalid'] } }],
      [{ messages: [{ topic: 't', event: 'e', payload: {}, id: 'x' }] }, { errors: { messages: [{ id: ['is invalid'] }] } }],
      [{ messages: [{ topic: 't', event: 'e', payload: {}, private: 'maybe' }] },
        { errors: { messages: [{ private: ['is invalid'] }] } }],
    ];
    for (const [body, expected] of cases) {
      const res = await batch(body);
      assert.equal(res.status, 422, `${JSON.stringify(body)}: ${res.text}`);
      assert.deepEqual(res.json, expected, JSON.stringify(body));
    }
  });

  it('the single-message endpoint takes an empty body as {}, wraps a non-object as _json, and refuses other types with 415', async () => {
    const c = rt.client('2.0.0');
    const name = uniqueName('single');
    const ch = c.channel(name);
    const got = collectBroadcasts(ch, 'e');
    await subscribed(ch);
    const post = (body, type = 'application/json') => http(rt.server, `/api/broadcast/${name}/events/e`, {
      method: 'POST', headers: { apikey: anonKey(rt.server.secret), 'content-type': type }, body,
    });
    assert.equal((await post('')).status, 202);
    assert.equal((await post('[1,2]')).status, 202);
    const text = await post('hello', 'text/plain');
    assert.equal(text.status, 415);
    assert.deepEqual(text.json, { error: 'Unsupported Media Type. Use application/json or application/octet-stream' });
    await waitFor(() => got.length === 2, 5000, 'two REST broadcasts');
    assert.deepEqual(got.map((m) => m.payload), [{}, { _json: [1, 2] }]);
  });
});
