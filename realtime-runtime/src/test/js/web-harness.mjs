// The listening-party web app (examples/listening-party/web) in real Chromium: starts the app the way its README
// does (`node server.mjs`: the runtime jar standalone on its embedded PostgreSQL, schema.sql applied, the app served
// on one origin), drives Debian's chromium through playwright-core, and reads what each page computes.
//
// Used by web-app.test.mjs and by bench/playback-skew/measure.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { DEFAULT_JAR, freePort, waitFor } from './harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = resolve(HERE, '..', '..', '..', '..', 'examples', 'listening-party', 'web');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** `npm ci` in the web app's folder unless its dependencies are installed (it serves supabase-js's bundle). */
export function ensureWebDependencies() {
  const installed = ['@supabase/supabase-js', 'pg'].every((d) => existsSync(resolve(WEB_DIR, 'node_modules', d, 'package.json')));
  if (installed) return;
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: WEB_DIR, encoding: 'utf8', timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`npm ci in ${WEB_DIR} failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
}

/** Starts `node server.mjs` (which starts the runtime) on free ports; resolves once it serves the app. */
export async function startWebApp({ timeoutMs = 120_000 } = {}) {
  ensureWebDependencies();
  const [port, realtimePort, dbPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, ['server.mjs'], {
    cwd: WEB_DIR,
    env: {
      ...process.env,
      PORT: String(port), REALTIME_PORT: String(realtimePort), REALTIME_EMBEDDED_DB_PORT: String(dbPort),
      REALTIME_JAR: process.env.REALTIME_JAR ? resolve(process.env.REALTIME_JAR) : DEFAULT_JAR,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: a forced stop takes the runtime it started with it
  });
  const signalGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  let out = '';
  child.stdout.on('data', (c) => { out += c; });
  child.stderr.on('data', (c) => { out += c; });
  let exit = null;
  const exited = new Promise((res) => child.on('exit', (code, signal) => {
    exit = code ?? signal;
    res(exit);
  }));
  await waitFor(() => {
    if (exit !== null) throw new Error(`server.mjs exited (${exit}):\n${out}`);
    return out.includes('Listening party at');
  }, timeoutMs, 'the web app to start').catch((e) => {
    signalGroup('SIGKILL');
    throw new Error(`${e.message}\n--- server.mjs output ---\n${out}`);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    dbUrl: `postgres://postgres:postgres@127.0.0.1:${dbPort}/postgres`,
    output: () => out,
    async stop() {
      if (exit === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => signalGroup('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Headless Debian chromium: as root it needs --no-sandbox; background networking would reach for the internet. */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage',
      '--disable-renderer-backgrounding', '--disable-background-timer-throttling',
      '--disable-backgrounding-occluded-windows'],
  });
}

/**
 * Opens `path` of the app in a context of its own (its own sessionStorage: its own anonymous user), with the page's
 * wall clock (`Date.now` and `performance.timeOrigin`, which clock-sync.mjs reads) shifted by `skewMs`, as on a device
 * whose clock is off. Resolves once the app says it is ready. The page's errors are kept in `page.errors`.
 */
export async function openPage(browser, url, { skewMs = 0, timeoutMs = 30_000 } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  if (skewMs) {
    await context.addInitScript((skew) => {
      const realNow = Date.now.bind(Date);
      Date.now = () => realNow() + skew;
      const origin = performance.timeOrigin + skew;
      Object.defineProperty(Performance.prototype, 'timeOrigin', { get: () => origin, configurable: true });
    }, skewMs);
  }
  const page = await context.newPage();
  page.skewMs = skewMs;
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(url);
  await waitReady(page, timeoutMs);
  return page;
}

/** Waits for the app's `window.party.ready` (or fails with what the page shows in its error box). */
export async function waitReady(page, timeoutMs = 30_000) {
  try {
    await page.waitForFunction(() => window.party?.ready === true || !document.querySelector('#error')?.hidden,
      null, { timeout: timeoutMs });
  } catch (e) {
    throw new Error(`${page.url()} was not ready within ${timeoutMs} ms; page errors: ${page.errors.join('; ')}`);
  }
  const error = await page.evaluate(() => (document.querySelector('#error')?.hidden ? '' : document.querySelector('#error').textContent));
  if (error) throw new Error(`${page.url()} shows an error: ${error}`);
}

/** Waits until `fn` (run in the page with `arg`) is truthy on every page. */
export async function onEvery(pages, fn, arg, what, timeoutMs = 15_000) {
  await Promise.all(pages.map((p, i) => p.waitForFunction(fn, arg, { timeout: timeoutMs }).catch(() => {
    throw new Error(`page ${i} (${p.url()}): timed out after ${timeoutMs} ms waiting for ${what}`);
  })));
}

/**
 * Each page's player position at one real instant, `leadMs` from now: every page is asked where its player's line
 * (Timeline.lineAt) is at that instant read on its own (possibly skewed) clock. Returns {positions, offsets (each page's clock offset
 * estimate), at}.
 */
export async function positionsAtOneInstant(pages, leadMs = 250) {
  const at = Date.now() + leadMs;
  const read = await Promise.all(pages.map((p) => p.evaluate((localAt) => ({
    position: window.party.timeline.lineAt(localAt),
    offset: window.party.clock.offset,
    errorBound: window.party.clock.errorBound,
  }), at + p.skewMs)));
  return { at, positions: read.map((r) => r.position), offsets: read.map((r) => r.offset), read };
}

/** Everything playing, and past the DJ's scheduled start instant. */
export async function allPlaying(pages, timeoutMs = 15_000) {
  await onEvery(pages, () => window.party?.playback?.isPlaying && window.party.timeline.playing
    && window.party.clock.serverNow() > window.party.playback.atServerMs + 100, null, 'playback to start', timeoutMs);
}
