// Listener-to-listener playback skew in real Chromium (issue 17's measurement): the listening-party web app started
// as its README says, one DJ page and LISTENERS listener pages, each in its own browser context with its wall clock
// shifted by a different amount (from -3 s to +3 s, as phones with wrong clocks), the DJ presses play, and every
// page is asked SAMPLES times where its player is at one common real instant. Printed: the spread (latest minus
// earliest page) per instant, and each page's clock-offset error (its estimate minus the true offset, which is
// minus its shift). The second phase repeats the samples while the party channel carries CHAT_RATE chat messages a
// second (REST broadcasts, which every page receives and renders).
//
//   node bench/playback-skew/measure.mjs [LISTENERS=20] [SAMPLES=50] [CHAT_RATE=50]
//
// Needs the runtime jar (./mvnw -B -q package -DskipTests), chromium (apt-get install chromium), and `npm ci` in
// realtime-runtime/src/test/js (the browser harness lives there).
import {
  allPlaying, launchChromium, onEvery, openPage, positionsAtOneInstant, startWebApp,
} from '../../realtime-runtime/src/test/js/web-harness.mjs';

const [listenersArg, samplesArg, rateArg] = process.argv.slice(2);
const LISTENERS = Number(listenersArg ?? 20);
const SAMPLES = Number(samplesArg ?? 50);
const CHAT_RATE = Number(rateArg ?? 50);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const fmt = (x) => x.toFixed(2);
const summary = (xs) => `p50 ${fmt(pct(xs, 0.5))} / p99 ${fmt(pct(xs, 0.99))} / max ${fmt(Math.max(...xs))} ms`;

// the tenant's default of 100 broadcasts a second would cap the chat load, not the browsers
process.env.REALTIME_MAX_EVENTS_PER_SECOND ??= '2000';
const app = await startWebApp();
const browser = await launchChromium();
try {
  const dj = await openPage(browser, `${app.url}/party.html?dj&title=skew-bench`);
  const partyId = await dj.evaluate(() => window.party.id);
  await dj.fill('#add-title', 'Reference tone');
  await dj.click('#add-form button');
  await dj.waitForFunction(() => window.party.queue.size === 1);
  const skews = Array.from({ length: LISTENERS }, (_, i) => Math.round(-3000 + (6000 * i) / Math.max(1, LISTENERS - 1)));
  const listeners = [];
  for (const [i, skewMs] of skews.entries()) {
    listeners.push(await openPage(browser, `${app.url}/party.html?party=${partyId}&name=bench-${i + 1}`, { skewMs }));
  }
  const pages = [dj, ...listeners];
  await onEvery(pages, (n) => window.party.presence.filter((p) => p.role === 'listener').length === n, LISTENERS,
    `${LISTENERS} listeners`, 60_000);
  await dj.click('#play');
  await allPlaying(pages, 30_000);

  const { anonKey } = await (await fetch(`${app.url}/config.json`)).json();
  const phase = async (label, rate) => {
    let sent = 0;
    let stop = false;
    const publisher = rate > 0 ? (async () => {
      const started = Date.now();
      while (!stop) {
        const due = Math.floor(((Date.now() - started) / 1000) * rate) - sent;
        if (due > 0) {
          const messages = Array.from({ length: due }, (_, k) => ({
            topic: `party:${partyId}`, event: 'chat', payload: { from: 'bench', text: `load ${sent + k}` },
          }));
          const res = await fetch(`${app.url}/realtime/v1/api/broadcast`, {
            method: 'POST', headers: { apikey: anonKey, 'content-type': 'application/json' }, body: JSON.stringify({ messages }),
          });
          if (res.status !== 202) throw new Error(`REST broadcast answered ${res.status}: ${await res.text()}`);
          sent += due;
        }
        await sleep(20);
      }
    })() : Promise.resolve();
    if (rate > 0) await sleep(2000);
    const spreads = [];
    const vsDj = [];
    for (let i = 0; i < SAMPLES; i++) {
      const { positions } = await positionsAtOneInstant(pages);
      const ls = positions.slice(1);
      spreads.push(Math.max(...ls) - Math.min(...ls));
      vsDj.push(Math.max(...ls.map((p) => Math.abs(p - positions[0]))));
      await sleep(200);
    }
    stop = true;
    await publisher;
    const offsets = await Promise.all(listeners.map((p) => p.evaluate(() => window.party.clock.offset)));
    const offsetErrors = offsets.map((o, i) => Math.abs(o + skews[i]));
    const bounds = await Promise.all(listeners.map((p) => p.evaluate(() => window.party.clock.errorBound)));
    console.log(`${label}: ${LISTENERS} listeners, ${SAMPLES} instants${rate ? `, ${sent} chat messages at ${rate}/s` : ''}`);
    console.log(`  listener-to-listener spread   ${summary(spreads)}`);
    console.log(`  farthest listener from the DJ ${summary(vsDj)}`);
    console.log(`  clock offset error per page   ${summary(offsetErrors)} (error bound ${summary(bounds)})`);
    const counts = await Promise.all(pages.map((p) => p.evaluate(() => [window.party.joins, window.party.corrections])));
    console.log(`  so far: ${counts.reduce((a, [j]) => a + j - 1, 0)} rejoins, `
      + `${counts.reduce((a, [, c]) => a + c, 0)} drift corrections (seeks while playing)`);
  };
  await phase('idle channel', 0);
  await phase('chat load', CHAT_RATE);
  for (const [i, p] of pages.entries()) if (p.errors.length) console.log(`page ${i} errors: ${p.errors.join('; ')}`);
} finally {
  await browser.close();
  await app.stop();
}
