// The listening-party web app in real Chromium (Debian's chromium through playwright-core): one DJ page and five
// listener pages, each its own anonymous user, against the app started as its README says (`node server.mjs`, the
// runtime standalone on its embedded PostgreSQL). Chat crosses, presence counts match, a vote reaches every page, a
// tip reaches the DJ and its tipper only (row-level security), and the DJ's play puts every page at the same
// position: within 20 ms at one instant, including a page whose clock is 3 s ahead and a page that reloads.
//
// The development server's own API (anonymous sign-in, table calls under row-level security, its refusals) is tested
// first, without a browser. Without chromium (CHROMIUM_PATH, default /usr/bin/chromium) the browser suite is skipped
// with the reason, except under CI=true, where it fails: `.ci/run` installs chromium.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CHROMIUM, allPlaying, launchChromium, onEvery, openPage, positionsAtOneInstant, startWebApp, waitReady,
} from './web-harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SHOTS = resolve(HERE, '..', '..', '..', 'target', 'web-app');
const AGREEMENT_MS = 20;
const SKEW_MS = 3000;
const LISTENERS = 5;

const missing = !existsSync(CHROMIUM) && `no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
if (missing && process.env.CI === 'true') throw new Error(`The browser suite needs chromium: ${missing}`);

let app;
before(async () => {
  app = await startWebApp();
});
after(async () => {
  await app?.stop();
});

describe('the web app\'s development server', () => {
  const call = async (path, { method = 'GET', token, body, headers = {} } = {}) => {
    const res = await fetch(`${app.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const signUp = async () => (await call('/auth/v1/signup', { method: 'POST', body: {} })).body;

  it('signs users in anonymously and refreshes a session once per refresh token', async () => {
    const s = await signUp();
    assert.equal(s.user.role, 'authenticated');
    assert.equal(s.user.is_anonymous, true);
    const refreshed = await call('/auth/v1/token?grant_type=refresh_token', { method: 'POST', body: { refresh_token: s.refresh_token } });
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.body.user.id, s.user.id);
    const again = await call('/auth/v1/token?grant_type=refresh_token', { method: 'POST', body: { refresh_token: s.refresh_token } });
    assert.equal(again.status, 400);
    assert.match(again.body.message, /Refresh Token Not Found/);
  });

  it('runs table calls as the token\'s role, so row-level security decides', async () => {
    const s = await signUp();
    const own = await call('/rest/v1/sessions', {
      method: 'POST', token: s.access_token, headers: { prefer: 'return=representation' },
      body: { host_id: s.user.id, title: 'mine' },
    });
    assert.equal(own.status, 201);
    assert.equal(own.body[0].host_id, s.user.id);
    const other = await call('/rest/v1/sessions', {
      method: 'POST', token: s.access_token, body: { host_id: '00000000-0000-0000-0000-000000000001', title: 'theirs' },
    });
    assert.equal(other.status, 403);
    assert.equal(other.body.code, '42501');
    assert.match(other.body.message, /row-level security/);
    const read = await call(`/rest/v1/sessions?id=eq.${own.body[0].id}&select=title`, { token: s.access_token });
    assert.deepEqual(read.body, [{ title: 'mine' }]);
  });

  it('refuses bad input with a status and a reason, and leaks no secret', async () => {
    const s = await signUp();
    const [head, claims] = s.access_token.split('.');
    const cases = [
      ['/rest/v1/sessions', {}, 401, /Expected a JWT/],
      ['/rest/v1/sessions', { token: `${head}.${claims}.AAAA` }, 401, /signature does not match/],
      ['/rest/v1/sessions?title=like.x', { token: s.access_token }, 400, /Unsupported filter title=like\.x/],
      ['/rest/v1/sessions?select=id;drop', { token: s.access_token }, 400, /Invalid column name/],
      ['/rest/v1/nope', { token: s.access_token }, 404, /does not exist/],
      ['/rest/v1/sessions', { method: 'POST', token: s.access_token, body: '{"title":' }, 400, /not valid JSON/],
      ['/rest/v1/sessions', { method: 'PATCH', token: s.access_token, body: { title: 'x' } }, 400, /needs a filter/],
      ['/auth/v1/recover', { method: 'POST', body: {} }, 404, /anonymously only/],
    ];
    for (const [path, opts, status, message] of cases) {
      const r = await call(path, opts);
      assert.equal(r.status, status, `${opts.method ?? 'GET'} ${path}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.message, message);
      assert.ok(!JSON.stringify(r.body).includes(s.access_token), 'the token is not echoed');
    }
    assert.ok(!app.output().includes(s.access_token), 'the server log holds no token');
  });
});

describe('the listening-party web app in Chromium', { skip: missing, concurrency: false }, () => {
  let browser;
  let dj;
  let listeners = [];
  let partyId;

  const spread = (xs) => Math.max(...xs) - Math.min(...xs);
  const all = () => [dj, ...listeners];

  before(async () => {
    browser = await launchChromium();
    mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
  });

  it('the DJ starts a party and five listeners join it; presence counts match on every page', async () => {
    dj = await openPage(browser, `${app.url}/party.html?dj&title=${encodeURIComponent('Friday night')}`);
    partyId = await dj.evaluate(() => window.party.id);
    assert.match(partyId, /^[0-9a-f-]{36}$/);
    const lobby = await browser.newPage();
    await lobby.goto(`${app.url}/`);
    await lobby.waitForSelector(`a[href="party.html?party=${partyId}"]`, { timeout: 10_000 });
    await lobby.close();
    listeners = await Promise.all(Array.from({ length: LISTENERS }, (_, i) => openPage(browser,
      `${app.url}/party.html?party=${partyId}&name=listener-${i + 1}`, { skewMs: i === 2 ? SKEW_MS : 0 })));
    await onEvery(all(), (n) => window.party.presence.filter((p) => p.role === 'listener').length === n
      && document.querySelector('#count').textContent === `${n} listening`, LISTENERS, `${LISTENERS} listeners`);
    const users = await Promise.all(all().map((p) => p.evaluate(() => window.party.user.id)));
    assert.equal(new Set(users).size, LISTENERS + 1, 'each page is its own user');
  });

  it('songs added by the DJ and a listener reach every queue', async () => {
    for (const title of ['Midnight City', 'Strobe']) {
      await dj.fill('#add-title', title);
      await dj.fill('#add-artist', title === 'Strobe' ? 'deadmau5' : 'M83');
      await dj.click('#add-form button');
      await dj.waitForFunction((t) => [...window.party.queue.values()].some((s) => s.title === t), title);
    }
    await listeners[0].fill('#add-title', 'Windowlicker');
    await listeners[0].click('#add-form button');
    await onEvery(all(), () => window.party.queue.size === 3, null, 'three songs in the queue');
  });

  it('chat crosses between every page', async () => {
    await listeners[1].fill('#chat-text', 'hello from listener 2');
    await listeners[1].press('#chat-text', 'Enter');
    await dj.fill('#chat-text', 'welcome, everyone');
    await dj.press('#chat-text', 'Enter');
    await onEvery(all(), () => ['hello from listener 2', 'welcome, everyone']
      .every((t) => [...document.querySelectorAll('#chat li')].some((li) => li.textContent.endsWith(t))),
    null, 'both chat messages');
  });

  it('a vote updates the score on every page', async () => {
    const songId = await dj.evaluate(() => [...window.party.queue.values()].find((s) => s.title === 'Strobe').id);
    await listeners[3].click(`li[data-song="${songId}"] button[title="Vote down"]`);
    await onEvery(all(), (id) => document.querySelector(`li[data-song="${id}"] .score`)?.dataset.score === '-1',
      songId, 'a score of -1');
    // a changed vote is an update of the same row: the score goes to 1, not 0
    await listeners[3].click(`li[data-song="${songId}"] button[title="Vote up"]`);
    await onEvery(all(), (id) => document.querySelector(`li[data-song="${id}"] .score`)?.dataset.score === '1',
      songId, 'the changed vote');
  });

  it('a tip appears to the DJ and its tipper, and to nobody else', async () => {
    await listeners[4].fill('#tip-amount', '5');
    await listeners[4].fill('#tip-message', 'great set');
    await listeners[4].click('#tip-form button');
    await onEvery([dj, listeners[4]], () => [...document.querySelectorAll('#tips li')]
      .some((li) => li.textContent.startsWith('$5.00 “great set”')), null, 'the tip');
    // the others received every change published after the tip (the vote above came before; this one after)
    await listeners[4].fill('#chat-text', 'after the tip');
    await listeners[4].press('#chat-text', 'Enter');
    await onEvery(listeners.slice(0, 4), () => [...document.querySelectorAll('#chat li')]
      .some((li) => li.textContent.endsWith('after the tip')), null, 'the chat after the tip');
    for (const p of listeners.slice(0, 4)) {
      assert.equal(await p.evaluate(() => window.party.tips.size), 0, 'a tip is private to the tipper and the DJ');
    }
  });

  it(`the DJ presses play: every page's position agrees within ${AGREEMENT_MS} ms, the skewed clock included`, async () => {
    await dj.click('#play');
    await allPlaying(all());
    const offsets = await Promise.all(all().map((p) => p.evaluate(() => window.party.clock.offset)));
    assert.ok(Math.abs(offsets[3] + SKEW_MS) < 10, `the page 3 s ahead estimates an offset of ${offsets[3]} ms`);
    for (const [i, o] of offsets.entries()) if (i !== 3) assert.ok(Math.abs(o) < 10, `page ${i}'s offset is ${o} ms`);
    for (let round = 0; round < 3; round++) {
      const { positions } = await positionsAtOneInstant(all());
      assert.ok(positions.every((p) => p > 0), `every page is past the start: ${positions}`);
      assert.ok(spread(positions) <= AGREEMENT_MS, `positions at one instant: ${positions.map((p) => p.toFixed(1))}`);
    }
    const shown = await Promise.all(all().map((p) => p.evaluate(() => document.querySelector('#song').textContent)));
    assert.deepEqual(new Set(shown), new Set(['Strobe — deadmau5']), 'the most voted song plays first');
  });

  it('a listener that reloads rejoins in sync and sees the chat it had', async () => {
    const page = listeners[2]; // the skewed one: the init script runs again on reload
    const before = await page.evaluate(() => window.party.user.id);
    await page.reload();
    await waitReady(page);
    assert.equal(await page.evaluate(() => window.party.user.id), before, 'the same user after a reload');
    await allPlaying([page]);
    const { positions } = await positionsAtOneInstant(all());
    assert.ok(spread(positions) <= AGREEMENT_MS, `positions after the reload: ${positions.map((p) => p.toFixed(1))}`);
    await page.waitForFunction(() => [...document.querySelectorAll('#chat li')]
      .some((li) => li.textContent.endsWith('hello from listener 2')), null, { timeout: 10_000 });
    await onEvery(all(), (n) => window.party.presence.filter((p) => p.role === 'listener').length === n,
      LISTENERS, `${LISTENERS} listeners after the reload`);
  });

  it('pause and seek reach every page at the same position', async () => {
    await dj.click('#pause');
    await onEvery(all(), () => window.party.playback?.isPlaying === false && !window.party.timeline.playing,
      null, 'pause');
    const paused = await Promise.all(all().map((p) => p.evaluate(() => window.party.timeline.positionAt(0))));
    assert.equal(new Set(paused).size, 1, `one paused position everywhere: ${paused}`);
    await dj.click('#forward');
    await onEvery(all(), (p) => window.party.timeline.positionAt(0) === p + 10_000, paused[0], 'the seek');
    await dj.click('#play');
    await allPlaying(all());
    const { positions } = await positionsAtOneInstant(all());
    assert.ok(spread(positions) <= AGREEMENT_MS, `positions after seek and play: ${positions.map((p) => p.toFixed(1))}`);
    assert.ok(positions.every((p) => p >= paused[0] + 10_000), 'playing on from the seek');
  });

  it('no page logged an error; screenshots of both views', async () => {
    await dj.screenshot({ path: resolve(SHOTS, 'dj.png') });
    await listeners[4].screenshot({ path: resolve(SHOTS, 'listener.png') });
    for (const [i, p] of all().entries()) assert.deepEqual(p.errors, [], `page ${i} errors`);
  });
});
