// The listening-party app: one module for the DJ view (party.html?dj), the listener view (party.html?party=<id>) and
// the lobby (index.html), on the unmodified supabase-js (its browser bundle, /vendor/supabase.js) and the example's helpers:
//   chat        Broadcast "chat" on party:<id>, through history.mjs (a reload or reconnect replays what was missed)
//   playback    the DJ's Broadcast "playback:sync" {songId, positionMs, isPlaying, atServerMs}: the runtime keeps the
//               latest one for joiners; clock-sync.mjs turns it into a position on the server's clock
//   listeners   Presence on party:<id>, one key per signed-in user
//   queue       public.song_queue, votes public.votes, tips public.tips: written through /rest/v1 under row-level
//               security, followed with Postgres Changes
// The page exposes its state as `window.party` (used by the browser tests and handy in the console).
import { PlaybackFollower, ServerClock, socketTransport } from '/lib/clock-sync.mjs';
import { followHistory } from '/lib/history.mjs';

/** The nominal length of a song: there is no audio file, each song is a timeline (with an optional click track). */
export const SONG_MS = 180_000;
const CHAT_REPLAY_MS = 10 * 60_000;
/** Chat lines a page keeps. */
const CHAT_KEPT = 200;
/**
 * The drift a listener's player corrects by seeking. Seeking is inaudible on the silent timeline and a click on the
 * click track; 20 ms is the agreement the app promises between listeners.
 */
const DRIFT_THRESHOLD_MS = 20;
/** How far ahead of now the DJ schedules a start, so every listener has the message before the instant comes. */
const START_LEAD_MS = 300;

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

export function formatMs(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function showError(message) {
  const box = $('#error');
  box.textContent = message;
  box.hidden = false;
}

/** supabase-js signed in as an anonymous user of this tab (sessionStorage: each tab is its own listener). */
export async function connect() {
  const { anonKey } = await (await fetch('/config.json')).json();
  const supabase = window.supabase.createClient(location.origin, anonKey, {
    auth: { storage: window.sessionStorage, detectSessionInUrl: false },
  });
  let { data: { session } } = await supabase.auth.getSession();
  if (!session) {
    const { data, error } = await supabase.auth.signInAnonymously();
    if (error) throw new Error(`Could not sign in: ${error.message}`);
    session = data.session;
  }
  return { supabase, user: session.user };
}

/** A player without audio: a position that moves with this device's clock while playing. */
export class Timeline {
  constructor(now) {
    this.now = now;
    this.base = 0;
    this.startedAt = null; // local ms at which `base` plays; may be ahead of now (a scheduled start)
  }

  positionAt(localMs) {
    if (this.startedAt === null || localMs < this.startedAt) return this.base;
    return this.base + (localMs - this.startedAt);
  }

  /**
   * Where the player's current line puts `localMs`, earlier instants included (a seek restarts the line, so
   * positionAt of an instant before the seek would give the seek's position): what players are compared by.
   */
  lineAt(localMs) {
    return this.startedAt === null ? this.base : this.base + (localMs - this.startedAt);
  }

  get playing() {
    return this.startedAt !== null;
  }

  seek(ms) {
    const now = this.now();
    if (this.startedAt !== null && now >= this.startedAt) this.startedAt = now;
    this.base = ms;
  }

  play(atLocalMs) {
    this.startedAt = atLocalMs;
  }

  pause() {
    this.base = this.positionAt(this.now());
    this.startedAt = null;
  }
}

/** A click on every second of the song's position, scheduled on the audio clock: audible proof of the sync. */
class ClickTrack {
  constructor(timeline) {
    this.timeline = timeline;
    this.ctx = null;
    this.scheduledUpTo = -1;
  }

  toggle(on) {
    if (on && !this.ctx) this.ctx = new AudioContext();
    if (!on && this.ctx) {
      this.ctx.close();
      this.ctx = null;
    }
  }

  /** Schedules the clicks of the next 250 ms. */
  tick() {
    if (!this.ctx || !this.timeline.playing) return;
    const now = this.timeline.now();
    const pos = this.timeline.positionAt(now);
    for (let beat = Math.ceil(pos / 1000) * 1000; beat < pos + 250; beat += 1000) {
      if (beat <= this.scheduledUpTo) continue;
      this.scheduledUpTo = beat;
      const at = this.ctx.currentTime + (beat - pos) / 1000;
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      osc.frequency.value = beat % 4000 === 0 ? 1320 : 880;
      gain.gain.setValueAtTime(0.2, at);
      gain.gain.exponentialRampToValueAtTime(0.001, at + 0.05);
      osc.connect(gain).connect(this.ctx.destination);
      osc.start(at);
      osc.stop(at + 0.06);
    }
  }
}

/** The lobby: live parties and a way to start one. */
export async function lobby() {
  try {
    const { supabase } = await connect();
    const { data, error } = await supabase.from('sessions').select('*').eq('is_live', true)
      .order('created_at', { ascending: false }).limit(50);
    if (error) throw new Error(error.message);
    const list = $('#parties');
    list.replaceChildren(...(data.length ? data.map((s) => el('li', {},
      el('a', { href: `party.html?party=${s.id}` }, s.title))) : [el('li', { class: 'muted' }, 'No live party yet.')]));
  } catch (e) {
    showError(e.message);
  }
}

/** The DJ view (`?dj` in the address) or the listener view of the party in the address (a DJ may start one). */
export async function party() {
  const role = new URLSearchParams(location.search).has('dj') ? 'dj' : 'listener';
  document.body.classList.add(role);
  if (role === 'listener') {
    $('#add-title').placeholder = 'Suggest a song';
    $('#add-form button').textContent = 'Suggest';
  }
  try {
    await run(role);
  } catch (e) {
    showError(e.message);
    throw e;
  }
}

async function run(role) {
  const params = new URLSearchParams(location.search);
  const { supabase, user } = await connect();
  const name = params.get('name') ?? sessionStorage.getItem('party-name')
    ?? (role === 'dj' ? 'DJ' : `listener-${user.id.slice(0, 4)}`);
  sessionStorage.setItem('party-name', name);
  let partyId = params.get('party');
  if (!partyId && role === 'dj') partyId = await startSession(supabase, user);
  if (!partyId) throw new Error('No party in the address: open a party from the lobby (index.html)');

  const { data: sessions, error } = await supabase.from('sessions').select('*').eq('id', partyId);
  if (error) throw new Error(error.message);
  if (!sessions.length) throw new Error(`Party ${partyId} does not exist or is not live`);
  const session = sessions[0];
  if (role === 'dj' && session.host_id !== user.id) throw new Error('This party belongs to another DJ: open it as a listener');
  $('#title').textContent = session.title;
  $('#me').textContent = name;
  if (role === 'dj') $('#invite').href = `party.html?party=${partyId}`;

  const clock = new ServerClock(socketTransport(supabase.realtime));
  const timeline = new Timeline(() => clock.now());
  const clicks = new ClickTrack(timeline);
  const follower = new PlaybackFollower(clock, {
    thresholdMs: DRIFT_THRESHOLD_MS,
    seek: (ms) => {
      if (timeline.playing) state.corrections++;
      timeline.seek(ms);
    },
    play: (at) => timeline.play(at), pause: () => timeline.pause(),
  });
  const state = {
    id: partyId, role, user, name, session, clock, timeline, follower,
    chat: [], queue: new Map(), votes: new Map(), tips: new Map(), presence: [], playback: null, drift: 0,
    clockReady: false, joins: 0, corrections: 0,
  };
  window.party = state;

  const applyPlayback = (p) => {
    state.playback = p;
    if (state.clockReady) follower.update(p);
    render();
  };

  const channel = supabase.channel(`party:${partyId}`, {
    config: { broadcast: { self: true }, presence: { key: user.id } },
  });
  const followed = followHistory(channel, {
    since: Date.now() - CHAT_REPLAY_MS,
    onMessage: ({ event, payload, meta }) => {
      if (event === 'chat') {
        const m = { ...payload, at: meta?.at };
        state.chat.push(m);
        if (state.chat.length > CHAT_KEPT) state.chat.shift();
        addChatLine(m);
      } else if (event === 'playback:sync') {
        applyPlayback(payload);
      }
    },
  });
  const follow = (table, event, apply) => channel.on('postgres_changes',
    { event, schema: 'public', table, filter: `session_id=eq.${partyId}` }, (c) => {
      apply(c);
      render();
    });
  const keep = (map) => (c) => (c.eventType === 'DELETE' ? map.delete(c.old.id) : map.set(c.new.id, c.new));
  follow('song_queue', '*', keep(state.queue));
  follow('votes', '*', keep(state.votes));
  follow('tips', 'INSERT', keep(state.tips));
  channel.on('presence', { event: 'sync' }, () => {
    state.presence = Object.entries(channel.presenceState()).map(([key, metas]) => ({ key, ...metas[0] }));
    render();
  });

  await new Promise((resolveJoin, rejectJoin) => {
    followed.subscribe(async (status, err) => {
      $('#status').textContent = status === 'SUBSCRIBED' ? 'connected' : status.toLowerCase();
      if (status === 'SUBSCRIBED') {
        state.joins++;
        if (state.joins === 1) resolveJoin();
        else clock.resync().catch(() => {}); // a rejoin after a reconnect: the network path may have changed
        await channel.track({ name, role, joinedAt: Date.now() });
      } else if (status === 'CHANNEL_ERROR' && state.joins === 0) {
        rejectJoin(new Error(`Could not join the party: ${err?.message ?? status}`));
      }
    });
  });
  await clock.start();
  state.clockReady = true;
  if (state.playback) follower.update(state.playback);

  // the tables as they are now (changes from here on arrive through the channel)
  const load = async (table, map) => {
    const { data, error: e } = await supabase.from(table).select('*').eq('session_id', partyId);
    if (e) throw new Error(`${table}: ${e.message}`);
    for (const row of data) if (!map.has(row.id)) map.set(row.id, row);
  };
  await Promise.all([load('song_queue', state.queue), load('votes', state.votes), load('tips', state.tips)]);

  wireControls(supabase, state, channel, clicks);
  render();
  setInterval(() => {
    state.drift = follower.check(timeline.positionAt(clock.now()));
    clicks.tick();
    renderNowPlaying();
  }, 100);
  state.ready = true;
  document.body.dataset.ready = 'true';

  function render() {
    renderQueue(state, role, (songId, value) => vote(supabase, state, songId, value));
    renderPresence(state);
    renderTips(state);
    renderNowPlaying();
  }

  function addChatLine(m) {
    const list = $('#chat');
    list.append(el('li', {}, el('b', {}, m.from ?? '?'), ' ', m.text));
    while (list.childElementCount > CHAT_KEPT) list.firstElementChild.remove();
    list.scrollTop = list.scrollHeight;
  }

  function renderNowPlaying() {
    const song = state.playback ? state.queue.get(state.playback.songId) : null;
    const pos = timeline.positionAt(clock.now());
    $('#song').textContent = song ? `${song.title}${song.artist ? ' — ' + song.artist : ''}` : 'Nothing playing';
    $('#position').textContent = `${formatMs(pos)} / ${formatMs(SONG_MS)}`;
    $('#progress').value = Math.min(1, pos / SONG_MS);
    $('#sync').textContent = state.clockReady
      ? `in sync ±${Math.ceil(clock.errorBound + Math.abs(state.drift))} ms` : 'syncing…';
  }
}

async function startSession(supabase, user) {
  const title = new URLSearchParams(location.search).get('title') ?? prompt('Name your party', 'Friday night') ?? 'Friday night';
  const { data, error } = await supabase.from('sessions').insert({ host_id: user.id, title }).select();
  if (error) throw new Error(`Could not start the party: ${error.message}`);
  const id = data[0].id;
  history.replaceState(null, '', `?dj&party=${id}`);
  return id;
}

/** Songs in play order: unplayed first, then by votes, then by when they were queued. */
function orderedSongs(state) {
  const score = new Map();
  for (const v of state.votes.values()) score.set(v.song_id, (score.get(v.song_id) ?? 0) + v.value);
  return [...state.queue.values()].map((s) => ({ ...s, score: score.get(s.id) ?? 0 }))
    .sort((a, b) => (!!a.played_at - !!b.played_at) || (b.score - a.score) || (a.position - b.position));
}

function renderQueue(state, role, onVote) {
  const mine = new Map([...state.votes.values()].filter((v) => v.user_id === state.user.id).map((v) => [v.song_id, v.value]));
  $('#queue').replaceChildren(...orderedSongs(state).map((s) => el('li', {
    class: s.played_at ? 'played' : (state.playback?.songId === s.id ? 'current' : ''), 'data-song': s.id,
  },
  el('span', { class: 'score', 'data-score': s.score }, s.score > 0 ? `+${s.score}` : s.score),
  el('span', { class: 'song-title' }, s.title, s.artist ? el('small', {}, ` ${s.artist}`) : ''),
  role === 'listener' && !s.played_at ? [
    el('button', { class: mine.get(s.id) === 1 ? 'on' : '', title: 'Vote up', onclick: () => onVote(s.id, 1) }, '+1'),
    el('button', { class: mine.get(s.id) === -1 ? 'on' : '', title: 'Vote down', onclick: () => onVote(s.id, -1) }, '−1'),
  ] : [])));
}

function renderPresence(state) {
  const listeners = state.presence.filter((p) => p.role === 'listener');
  $('#count').textContent = `${listeners.length} listening`;
  $('#people').replaceChildren(...state.presence.map((p) => el('li', { class: p.role }, p.role === 'dj' && p.name !== 'DJ' ? `${p.name} (DJ)` : p.name)));
}

function renderTips(state) {
  const tips = [...state.tips.values()].sort((a, b) => b.id - a.id);
  $('#tips').replaceChildren(...tips.map((t) => el('li', {},
    `$${(t.amount_cents / 100).toFixed(2)}`, t.message ? ` “${t.message}”` : '', t.from_user === state.user.id ? ' (you)' : '')));
}

async function vote(supabase, state, songId, value) {
  const row = { session_id: state.id, song_id: songId, user_id: state.user.id, value };
  let { error } = await supabase.from('votes').insert(row);
  if (error?.code === '23505') {
    ({ error } = await supabase.from('votes').update({ value }).eq('song_id', songId).eq('user_id', state.user.id));
  }
  if (error) showError(`Vote not counted: ${error.message}`);
}

function wireControls(supabase, state, channel, clicks) {
  const { clock, timeline } = state;
  $('#chat-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('#chat-text').value.trim();
    if (!text) return;
    $('#chat-text').value = '';
    const r = await channel.send({ type: 'broadcast', event: 'chat', payload: { from: state.name, userId: state.user.id, text } });
    if (r !== 'ok') showError(`Chat not sent (${r}): try again`);
  });
  $('#sound').addEventListener('change', (e) => clicks.toggle(e.target.checked));
  $('#add-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const title = $('#add-title').value.trim();
    if (!title) return;
    const artist = $('#add-artist').value.trim() || null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const position = Math.max(0, ...[...state.queue.values()].map((s) => s.position)) + 1 + attempt;
      const { error } = await supabase.from('song_queue')
        .insert({ session_id: state.id, added_by: state.user.id, title, artist, position });
      if (!error) {
        $('#add-title').value = '';
        $('#add-artist').value = '';
        return;
      }
      if (error.code !== '23505') return showError(`Song not added: ${error.message}`);
    }
    showError('Song not added: the queue changed under us three times, try again');
  });
  if (state.role === 'listener') {
    $('#tip-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const cents = Math.round(Number($('#tip-amount').value) * 100);
      if (!(cents > 0)) return showError('A tip needs an amount above 0');
      const message = $('#tip-message').value.trim() || null;
      const { error } = await supabase.from('tips').insert({ session_id: state.id, from_user: state.user.id, amount_cents: cents, message });
      if (error) return showError(`Tip not sent: ${error.message}`);
      $('#tip-message').value = '';
    });
    return;
  }
  // the DJ's controls publish playback:sync; the DJ's own page follows it like every listener's
  const publish = (p) => channel.send({ type: 'broadcast', event: 'playback:sync', payload: p });
  const current = () => state.playback?.songId ?? orderedSongs(state).find((s) => !s.played_at)?.id;
  const position = () => timeline.positionAt(clock.now());
  $('#play').addEventListener('click', () => {
    const songId = current();
    if (songId === undefined) return showError('Add a song to the queue first');
    publish({ songId, positionMs: Math.round(position()), isPlaying: true, atServerMs: clock.serverNow() + START_LEAD_MS });
  });
  $('#pause').addEventListener('click', () => {
    if (!state.playback) return;
    publish({ songId: state.playback.songId, positionMs: Math.round(position()), isPlaying: false, atServerMs: clock.serverNow() });
  });
  const seekBy = (delta) => {
    if (!state.playback) return;
    publish({
      songId: state.playback.songId, positionMs: Math.max(0, Math.round(position() + delta)),
      isPlaying: state.playback.isPlaying, atServerMs: clock.serverNow() + (state.playback.isPlaying ? START_LEAD_MS : 0),
    });
  };
  $('#back').addEventListener('click', () => seekBy(-10_000));
  $('#forward').addEventListener('click', () => seekBy(10_000));
  $('#next').addEventListener('click', async () => {
    const playing = state.playback?.songId;
    if (playing !== undefined) {
      const { error } = await supabase.from('song_queue').update({ played_at: new Date().toISOString() }).eq('id', playing);
      if (error) return showError(`Could not mark the song played: ${error.message}`);
      const song = state.queue.get(playing);
      if (song) state.queue.set(playing, { ...song, played_at: new Date().toISOString() });
    }
    const next = orderedSongs(state).find((s) => !s.played_at && s.id !== playing);
    if (!next) return showError('The queue is empty');
    publish({ songId: next.id, positionMs: 0, isPlaying: true, atServerMs: clock.serverNow() + START_LEAD_MS });
  });
}
