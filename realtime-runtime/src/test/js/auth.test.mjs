// Tokens: handshake refusals, access_token on join, expiry, refresh; public vs private channels.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  VSNS, subscribe, subscribed, collectBroadcasts, uniqueName, waitFor, anonKey, userToken, jwt, tryUpgrade, wsUrl, RawClient, http, broadcast, runtimeForFile,
} from './harness.mjs';

const rt = runtimeForFile();
const { clients } = rt;

const client = rt.client;

/** A client whose realtime access token is `token` (set with setAuth before any subscribe). */
async function authedClient(vsn, token, opts = {}) {
  const c = client(vsn, { accessToken: token, ...opts });
  await c.realtime.setAuth(token);
  return c;
}

const now = () => Math.floor(Date.now() / 1000);
const send = broadcast;

describe('handshake refusals (raw ws upgrade)', () => {
  const cases = [
    ['an expired apikey', () => anonKey(rt.server.secret, { expSeconds: -120 }), 'Token has expired'],
    ['no apikey', () => undefined, 'API key is missing'],
    ['a token without role', () => jwt({ exp: now() + 3600, iss: 'supabase' }, rt.server.secret), 'Fields `role` and `exp` are required in JWT'],
    ['a token without exp', () => jwt({ role: 'anon', iss: 'supabase' }, rt.server.secret), 'Fields `role` and `exp` are required in JWT'],
    ['a token signed with another secret', () => anonKey('another-secret-another-secret-another-secret'), 'Failed to validate JWT signature'],
    ['a string that is not a JWT', () => 'definitely-not-a-jwt', 'The token provided is not a valid JWT'],
  ];
  for (const [what, token, message] of cases) {
    it(`${what} -> 401 {"error":"${message}"}`, async () => {
      for (const path of ['/realtime/v1/websocket', '/socket/websocket']) {
        const res = await tryUpgrade(wsUrl(rt.server, { vsn: '2.0.0', apikey: token(), path }));
        if (res.opened) {
          res.ws.terminate();
          assert.fail(`upgrade to ${path} was accepted`);
        }
        assert.equal(res.status, 401, `${path}: ${res.body}`);
        assert.deepEqual(JSON.parse(res.body), { error: message });
      }
    });
  }

  it('the x-api-key header is accepted in place of the apikey query parameter', async () => {
    const res = await tryUpgrade(wsUrl(rt.server, { vsn: '2.0.0' }), { headers: { 'x-api-key': anonKey(rt.server.secret) } });
    assert.ok(res.opened, `expected an upgrade, got ${res.status} ${res.body}`);
    res.ws.terminate();
  });
});

for (const vsn of VSNS) {
  describe(`tokens and private channels, vsn ${vsn}`, () => {
    it('public and private channels with the same name are separate', async () => {
      const name = uniqueName('sep');
      const sub = userToken(rt.server.secret, 'user-1');
      const privClient = await authedClient(vsn, sub);
      const priv = privClient.channel(name, { config: { private: true } });
      const gotPriv = collectBroadcasts(priv);
      await subscribed(priv);

      const pub = client(vsn).channel(name);
      const gotPub = collectBroadcasts(pub);
      await subscribed(pub);

      const pubSenderClient = client(vsn);
      const pubSender = pubSenderClient.channel(name);
      await subscribed(pubSender);
      const privSenderClient = await authedClient(vsn, userToken(rt.server.secret, 'user-2'));
      const privSender = privSenderClient.channel(name, { config: { private: true } });
      await subscribed(privSender);

      await send(pubSender, 'public-msg', { scope: 'public' });
      await waitFor(() => gotPub.find((m) => m.event === 'public-msg'), 5000, 'public subscriber to get the public message');
      await send(privSender, 'private-msg', { scope: 'private' });
      await waitFor(() => gotPriv.find((m) => m.event === 'private-msg'), 5000, 'private subscriber to get the private message');
      // fence on the public side too
      await send(pubSender, 'public-fence', {});
      await waitFor(() => gotPub.find((m) => m.event === 'public-fence'), 5000, 'public fence');

      assert.deepEqual(gotPriv.filter((m) => m.event.startsWith('public')), [], 'private subscriber must not get public broadcasts');
      assert.deepEqual(gotPub.filter((m) => m.event === 'private-msg'), [], 'public subscriber must not get private broadcasts');

      // REST with ?private=true reaches only the private subscriber
      const res = await privSender.httpSend('private-rest', { via: 'rest' });
      assert.deepEqual(res, { success: true });
      await waitFor(() => gotPriv.find((m) => m.event === 'private-rest'), 5000, 'private REST delivery');
      await send(pubSender, 'public-fence-2', {});
      await waitFor(() => gotPub.find((m) => m.event === 'public-fence-2'), 5000, 'public fence 2');
      assert.deepEqual(gotPub.filter((m) => m.event === 'private-rest'), []);

      // batch REST: "private": true goes to the private channel, false to the public one
      const batch = await http(rt.server, '/realtime/v1/api/broadcast', {
        method: 'POST',
        headers: { authorization: `Bearer ${userToken(rt.server.secret, 'user-3')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [
          { topic: name, event: 'batch-private', payload: { p: true }, private: true },
          { topic: name, event: 'batch-public', payload: { p: false }, private: false },
        ] }),
      });
      assert.equal(batch.status, 202, batch.text);
      await waitFor(() => gotPriv.find((m) => m.event === 'batch-private'), 5000, 'private batch delivery');
      await waitFor(() => gotPub.find((m) => m.event === 'batch-public'), 5000, 'public batch delivery');
      await send(pubSender, 'public-fence-3', {});
      await send(privSender, 'private-fence-3', {});
      await waitFor(() => gotPub.find((m) => m.event === 'public-fence-3'), 5000, 'public fence 3');
      await waitFor(() => gotPriv.find((m) => m.event === 'private-fence-3'), 5000, 'private fence 3');
      assert.deepEqual(gotPub.filter((m) => m.event === 'batch-private'), []);
      assert.deepEqual(gotPriv.filter((m) => m.event === 'batch-public'), []);
    });

    it('role anon is refused a private channel: CHANNEL_ERROR "Unauthorized: You do not have permissions to read from this Channel topic: …"', async () => {
      const ch = client(vsn).channel(uniqueName('priv'), { config: { private: true } });
      const { status, err } = await subscribe(ch);
      assert.equal(status, 'CHANNEL_ERROR');
      assert.ok(err instanceof Error);
      assert.match(err.message, /^Unauthorized: You do not have permissions to read from this Channel topic: /);
    });

    it('setAuth(userToken) before subscribe: the join carries access_token, which the rt.server uses (private channel allowed)', async () => {
      const token = userToken(rt.server.secret, 'user-join');
      const c = await authedClient(vsn, token);
      const ch = c.channel(uniqueName('priv'), { config: { private: true } });
      await subscribed(ch);
      assert.equal(ch.joinPush.payload().access_token, token);
    });

    it('a join with an expired access token fails with CHANNEL_ERROR "InvalidJWTToken: Token has expired …"', async () => {
      const expired = userToken(rt.server.secret, 'user-expired', { expSeconds: -30 });
      const c = await authedClient(vsn, expired);
      const ch = c.channel(uniqueName('exp'));
      const { status, err } = await subscribe(ch);
      assert.equal(status, 'CHANNEL_ERROR');
      assert.match(err.message, /InvalidJWTToken: Token has expired/);
    });

    it('a token expiring during the subscription: system error "Token has expired N seconds ago", then CLOSED', async () => {
      const name = uniqueName('expiring');
      const c = await authedClient(vsn, userToken(rt.server.secret, 'user-short', { expSeconds: 4 }));
      const ch = c.channel(name);
      const systems = [];
      ch.on('system', {}, (p) => systems.push(p));
      await subscribed(ch);
      const sys = await waitFor(() => systems.find((s) => s.status === 'error'), 10_000, 'system error on expiry');
      assert.equal(sys.extension, 'system');
      assert.match(sys.message, /^Token has expired \d+ seconds ago$/);
      assert.equal(sys.channel, name);
      await waitFor(() => ch.statuses.some((s) => s.status === 'CLOSED'), 5000, 'CLOSED after expiry');
      assert.equal(ch.state, 'closed');
    });

    it('refreshing with setAuth(newToken) before expiry keeps the channel alive past the old expiry', async () => {
      const name = uniqueName('refresh');
      const shortToken = () => userToken(rt.server.secret, 'user-refresh', { expSeconds: 4 });
      // control: same kind of short token, never refreshed; its expiry tells us the old expiry has passed
      const control = (await authedClient(vsn, shortToken())).channel(name);
      const controlSystems = [];
      control.on('system', {}, (p) => controlSystems.push(p));

      // (a short push timeout: the rt.server does not reply to access_token, and realtime-js's 10 s push
      // timer for it would otherwise keep the test process alive)
      const refreshed = await authedClient(vsn, shortToken(), { timeout: 5000 });
      const ch = refreshed.channel(name);
      const systems = [];
      ch.on('system', {}, (p) => systems.push(p));
      const got = collectBroadcasts(ch);
      await subscribed(control);
      await subscribed(ch);

      const fresh = userToken(rt.server.secret, 'user-refresh', { expSeconds: 3600 });
      refreshed.tokenHolder.token = fresh;
      await refreshed.realtime.setAuth(fresh);

      await waitFor(() => controlSystems.find((s) => s.status === 'error'), 10_000, 'control channel to expire');
      await waitFor(() => control.statuses.some((s) => s.status === 'CLOSED'), 5000, 'control CLOSED');

      // still alive: receives a broadcast sent after the old expiry
      const senderClient = client(vsn);
      const sender = senderClient.channel(name);
      await subscribed(sender);
      await send(sender, 'still-alive', { ok: true });
      await waitFor(() => got.find((m) => m.event === 'still-alive'), 5000, 'refreshed channel to still receive');
      assert.deepEqual(systems.filter((s) => s.status === 'error'), []);
      assert.equal(ch.state, 'joined');
      assert.ok(!ch.statuses.some((s) => s.status === 'CLOSED'));
    });
  });
}

describe('access_token over a raw socket', () => {
  it('an access_token event with a valid token gets no error and the channel keeps working', async () => {
    const raw = await RawClient.open(rt.server, { vsn: '2.0.0' });
    clients.push(raw);
    const { reply, joinRef, topic } = await raw.join(uniqueName('raw-at'), { config: { broadcast: { self: true, ack: true } } });
    assert.equal(reply.payload.status, 'ok');
    raw.push(topic, 'access_token', { access_token: userToken(rt.server.secret, 'u') }, { joinRef });
    const ack = await raw.request(topic, 'broadcast', { type: 'broadcast', event: 'after-token', payload: {} }, { joinRef });
    assert.equal(ack.payload.status, 'ok');
    await raw.waitMessage((m) => m.event === 'broadcast' && m.payload?.event === 'after-token', 5000, 'self broadcast');
    assert.equal(raw.messages.filter((m) => m.event === 'system' || m.event === 'phx_close').length, 0);
  });
});
