// Test harness for the realtime-runtime jar: starts the server as a child process, mints HS256 JWTs,
// builds supabase-js clients and raw `ws` sockets, and waits for conditions with timeouts.
//
// Everything here is deliberately dependency-free apart from `ws` and `@supabase/supabase-js`.

import { before, after, afterEach } from 'node:test';
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createClient } from '@supabase/supabase-js';

export { WebSocket, randomUUID };

const HERE = dirname(fileURLToPath(import.meta.url));
/** realtime-runtime/src/test/js -> realtime-runtime/target/realtime-runtime.jar */
export const DEFAULT_JAR = resolve(HERE, '..', '..', '..', 'target', 'realtime-runtime.jar');
export const TEST_SECRET = 'integration-test-secret-0123456789-abcdefghij';
const START_TIMEOUT_MS = Number(process.env.REALTIME_START_TIMEOUT_MS ?? 30_000);

// ---------------------------------------------------------------------------------------------
// small utilities

export const VSNS = ['2.0.0', '1.0.0'];

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `predicate` (sync or async) until it returns a truthy value, which is returned.
 * Rejects after `timeoutMs` with `message` (plus the last thrown error, if any).
 */
export async function waitFor(predicate, timeoutMs = 5000, message = 'condition') {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const err = new Error(`timed out after ${timeoutMs} ms waiting for ${message}` +
        (lastError ? ` (last error: ${lastError.message})` : ''));
      throw err;
    }
    await sleep(20);
  }
}

/** Rejects with `message` if `promise` does not settle within `ms`. */
export function withTimeout(promise, ms, message = 'operation') {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${message}`)), ms);
    }),
  ]);
}

/** A unique channel name per test so tests never see each other's traffic. */
export function uniqueName(prefix = 'room') {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

// ---------------------------------------------------------------------------------------------
// JWT (HS256, hand-signed with node:crypto)

function b64url(input) {
  return Buffer.from(input).toString('base64url');
}

export function jwt(claims, secret = TEST_SECRET, header = { alg: 'HS256', typ: 'JWT' }) {
  const head = b64url(JSON.stringify(header));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export function anonKey(secret = TEST_SECRET, { expSeconds = 3600 } = {}) {
  return jwt({ iss: 'supabase', role: 'anon', iat: nowSeconds(), exp: nowSeconds() + expSeconds }, secret);
}

export function userToken(secret = TEST_SECRET, sub = randomUUID(), { expSeconds = 3600, role = 'authenticated' } = {}) {
  return jwt({
    iss: 'supabase', aud: 'authenticated', sub, role, iat: nowSeconds(), exp: nowSeconds() + expSeconds,
  }, secret);
}

// ---------------------------------------------------------------------------------------------
// server process

export async function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts `java -jar realtime-runtime.jar` on a free loopback port and waits for /readyz = 200.
 * Returns {port, url, secret, stop(signal) -> Promise<exitCode>, output(), pid}.
 */
export async function startServer(envOverrides = {}) {
  const jar = process.env.REALTIME_JAR ? resolve(process.env.REALTIME_JAR) : DEFAULT_JAR;
  if (!process.env.REALTIME_SERVER_COMMAND && !existsSync(jar)) {
    throw new Error(`realtime-runtime jar not found at ${jar}; build it first (mvn package) or set REALTIME_JAR`);
  }
  // REALTIME_PORT in envOverrides: a restart on the port clients already know
  const port = envOverrides.REALTIME_PORT !== undefined ? Number(envOverrides.REALTIME_PORT) : await freePort();
  const secret = envOverrides.REALTIME_JWT_SECRET ?? TEST_SECRET;
  const env = {
    ...process.env,
    REALTIME_PORT: String(port),
    REALTIME_JWT_SECRET: secret,
    REALTIME_JOIN_ERROR_DELAY_MS: '0',
    // no database unless a test asks for one (the embedded one takes seconds to start)
    REALTIME_DB_URL: 'none',
    ...Object.fromEntries(Object.entries(envOverrides).map(([k, v]) => [k, String(v)])),
  };
  const javaOpts = (process.env.REALTIME_TEST_JAVA_OPTS ?? '-Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1')
    .split(/\s+/).filter(Boolean);
  // REALTIME_SERVER_COMMAND (e.g. "node /path/to/other-server.mjs") replaces `java -jar <jar>`; for debugging only.
  const [cmd, ...args] = process.env.REALTIME_SERVER_COMMAND
    ? process.env.REALTIME_SERVER_COMMAND.split(/\s+/).filter(Boolean)
    : ['java', ...javaOpts, '-jar', jar];
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const append = (chunk) => {
    out += chunk.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let exitCode = null;
  let exitSignal = null;
  const exited = new Promise((res) => {
    child.on('exit', (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      res(code ?? (signal ? `signal:${signal}` : null));
    });
  });
  child.on('error', (e) => append(`\n[harness] spawn error: ${e.message}\n`));

  const url = `http://127.0.0.1:${port}`;
  const server = {
    port,
    url,
    secret,
    pid: child.pid,
    output: () => out,
    exited,
    get exitCode() { return exitCode; },
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (exitCode === null && exitSignal === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        try {
          return await exited;
        } finally {
          clearTimeout(timer);
        }
      }
      return exited;
    },
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exitCode !== null || exitSignal !== null) {
      throw new Error(`realtime-runtime exited during startup (code ${exitCode}, signal ${exitSignal}).\n--- output ---\n${out}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer().catch(() => {});
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`realtime-runtime did not answer 200 on /readyz within ${START_TIMEOUT_MS} ms.\n--- output ---\n${out}`);
    }
    await sleep(100);
  }
  return server;
}

// ---------------------------------------------------------------------------------------------
// supabase-js clients

/**
 * Creates a supabase-js client for `server`.
 *  - vsn: '2.0.0' | '1.0.0' (passed as `realtime.vsn`; realtime-js appends it to the socket URL)
 *  - key: the apikey (defaults to an anon key signed with the server's secret)
 *  - accessToken: when given, the client is configured with an `accessToken` callback returning
 *    `client.tokenHolder.token` (change it to rotate). This matters because supabase-js otherwise
 *    re-reads the token from its auth module after every join and every heartbeat and falls back
 *    to the apikey, which would silently replace a token given with `realtime.setAuth(token)`.
 */
/**
 * One runtime for a whole test file: started before its tests and stopped after them, with the clients
 * the tests made (pushed to `rt.clients`, or made by `rt.client(vsn, opts)`) closed after every test.
 * `rt.server` is the running server.
 */
export function runtimeForFile(envOverrides = {}) {
  const rt = {
    server: undefined,
    clients: [],
    client(vsn, opts = {}) {
      const c = makeClient(rt.server, { vsn, ...opts });
      rt.clients.push(c);
      return c;
    },
  };
  before(async () => {
    rt.server = await startServer(envOverrides);
  });
  after(async () => {
    await closeAll(rt.clients);
    await rt.server?.stop();
  });
  afterEach(async () => {
    await closeAll(rt.clients);
  });
  return rt;
}

export function makeClient(server, { vsn = '2.0.0', key, accessToken, timeout = 10_000, realtime = {} } = {}) {
  const tokenHolder = { token: accessToken ?? null };
  const options = {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: WebSocket, vsn, timeout, ...realtime },
  };
  if (accessToken !== undefined) options.accessToken = async () => tokenHolder.token;
  const client = createClient(server.url, key ?? anonKey(server.secret), options);
  client.tokenHolder = tokenHolder;
  return client;
}

/**
 * Subscribes and resolves with the first terminal status: {status, err}.
 * Every status is also recorded in `channel.statuses` ([{status, err, at}]).
 */
export function subscribe(channel, { timeoutMs = 15_000 } = {}) {
  channel.statuses = channel.statuses ?? [];
  return withTimeout(new Promise((resolveStatus) => {
    let done = false;
    channel.subscribe((status, err) => {
      channel.statuses.push({ status, err, at: Date.now() });
      if (!done) {
        done = true;
        resolveStatus({ status, err });
      }
    });
  }), timeoutMs, `subscribe ${channel.topic}`);
}

/** Subscribes and asserts SUBSCRIBED. */
export async function subscribed(channel, opts) {
  const { status, err } = await subscribe(channel, opts);
  if (status !== 'SUBSCRIBED') {
    throw new Error(`expected SUBSCRIBED for ${channel.topic}, got ${status}${err ? `: ${err.message}` : ''}`);
  }
  return channel;
}

/** Collects broadcast payloads of `event` (or all with '*') on a channel into an array. */
export function collectBroadcasts(channel, event = '*') {
  const got = [];
  channel.on('broadcast', { event }, (msg) => got.push(msg));
  return got;
}

/** The underlying `ws` socket of a supabase-js client (for abrupt termination). */
export function underlyingSocket(client) {
  return client.realtime.socketAdapter.getSocket().conn;
}

/**
 * Tears a supabase-js client down without leaving timers behind: leaves every channel (bounded),
 * tears the channels down, cancels realtime-js's deferred disconnect, and closes the socket.
 * (RealtimeClient.disconnect() would leave an un-cleared 10 s timer behind, delaying process exit.)
 */
export async function closeClient(client) {
  if (!client) return;
  const rt = client.realtime;
  const channels = [...rt.getChannels()];
  await Promise.all(channels.map(async (ch) => {
    try {
      await withTimeout(ch.unsubscribe(2000), 3000, 'unsubscribe').catch(() => {});
    } finally {
      ch.teardown();
    }
  }));
  rt.channels = [];
  rt._cancelPendingDisconnect?.();
  const socket = rt.socketAdapter.getSocket();
  await withTimeout(new Promise((res) => socket.disconnect(res)), 5000, 'disconnect').catch(() => {});
  rt._cancelPendingDisconnect?.();
  socket.reconnectTimer.reset();
  socket.clearHeartbeats();
  const conn = socket.conn;
  if (conn && typeof conn.terminate === 'function') conn.terminate();
}

export async function closeAll(clients) {
  await Promise.all(clients.splice(0).map((c) => (c?.ws ? c.close() : closeClient(c))));
}

// ---------------------------------------------------------------------------------------------
// raw websocket protocol

export function wsUrl(server, { vsn = '2.0.0', apikey, path = '/realtime/v1/websocket', extra = {} } = {}) {
  const u = new URL(`ws://127.0.0.1:${server.port}${path}`);
  if (apikey !== undefined && apikey !== null) u.searchParams.set('apikey', apikey);
  if (vsn) u.searchParams.set('vsn', vsn);
  for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
  return u.toString();
}

/**
 * Attempts a websocket upgrade; resolves {status, body, headers} when the server answers with a
 * non-101 HTTP response, or {opened: true, ws} when it upgraded (caller must close the ws).
 */
export function tryUpgrade(url, { headers = {}, timeoutMs = 10_000 } = {}) {
  return withTimeout(new Promise((resolveUp, reject) => {
    const ws = new WebSocket(url, { headers, maxPayload: 64 * 1024 * 1024 });
    let settled = false;
    ws.on('unexpected-response', (req, res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        settled = true;
        resolveUp({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers });
        req.destroy();
      });
      res.on('error', () => {});
    });
    ws.on('open', () => {
      settled = true;
      resolveUp({ opened: true, ws });
    });
    ws.on('error', (e) => {
      if (!settled) {
        settled = true;
        reject(e);
      }
    });
  }), timeoutMs, `upgrade ${url}`);
}

/** Decodes a vsn 2.0.0 binary frame of kind 4 (server -> client user broadcast). */
export function decodeKind4(buf) {
  const b = Buffer.from(buf);
  if (b[0] !== 4) return { kind: b[0], raw: b };
  const topicLen = b[1];
  const eventLen = b[2];
  const metaLen = b[3];
  const encoding = b[4];
  let o = 5;
  const topic = b.subarray(o, o + topicLen).toString('utf8'); o += topicLen;
  const event = b.subarray(o, o + eventLen).toString('utf8'); o += eventLen;
  const metaStr = b.subarray(o, o + metaLen).toString('utf8'); o += metaLen;
  const body = b.subarray(o);
  return {
    kind: 4,
    topic,
    event,
    encoding,
    meta: metaLen ? JSON.parse(metaStr) : undefined,
    payload: encoding === 1 ? JSON.parse(body.toString('utf8')) : body,
  };
}

/** Encodes a vsn 2.0.0 binary frame of kind 3 (client -> server user broadcast push). */
export function encodeKind3({ joinRef = '', ref = '', topic, event, meta = '', encoding = 1, payload }) {
  const parts = [joinRef, ref, topic, event, meta].map((s) => Buffer.from(s, 'utf8'));
  const body = encoding === 1 ? Buffer.from(JSON.stringify(payload), 'utf8') : Buffer.from(payload);
  const header = Buffer.from([3, parts[0].length, parts[1].length, parts[2].length, parts[3].length, parts[4].length, encoding]);
  return Buffer.concat([header, ...parts, body]);
}

/**
 * A raw Phoenix-protocol client over `ws`, speaking vsn 1.0.0 (JSON objects) or 2.0.0 (JSON arrays).
 * Every decoded inbound message is kept in `messages` as {join_ref, ref, topic, event, payload, binary?}.
 */
export class RawClient {
  constructor(ws, vsn) {
    this.ws = ws;
    this.vsn = vsn;
    this.messages = [];
    this.refCounter = 0;
    this.closed = false;
    this.closeInfo = null;
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const d = decodeKind4(data);
        this.messages.push({ join_ref: null, ref: null, topic: d.topic, event: 'broadcast', payload: d, binary: true });
        return;
      }
      const text = data.toString('utf8');
      let msg;
      try {
        const parsed = JSON.parse(text);
        if (Array.isArray(parsed)) {
          const [join_ref, ref, topic, event, payload] = parsed;
          msg = { join_ref, ref, topic, event, payload, raw: text };
        } else {
          msg = { ...parsed, raw: text };
        }
      } catch {
        msg = { unparsable: text };
      }
      this.messages.push(msg);
    });
    ws.on('close', (code, reason) => {
      this.closed = true;
      this.closeInfo = { code, reason: reason.toString() };
    });
    ws.on('error', () => {});
  }

  static async open(server, { vsn = '2.0.0', apikey, path, extra } = {}) {
    const key = apikey === undefined ? anonKey(server.secret) : apikey;
    const res = await tryUpgrade(wsUrl(server, { vsn, apikey: key, path, extra }));
    if (!res.opened) throw new Error(`upgrade refused: ${res.status} ${res.body}`);
    return new RawClient(res.ws, vsn);
  }

  nextRef() {
    this.refCounter += 1;
    return String(this.refCounter);
  }

  encode(join_ref, ref, topic, event, payload) {
    if (this.vsn === '2.0.0') return JSON.stringify([join_ref, ref, topic, event, payload]);
    return JSON.stringify({ topic, event, payload, ref, join_ref });
  }

  push(topic, event, payload, { joinRef = null, ref = this.nextRef() } = {}) {
    this.ws.send(this.encode(joinRef, ref, topic, event, payload));
    return ref;
  }

  sendRaw(data, opts) {
    this.ws.send(data, opts);
  }

  async waitMessage(pred, timeoutMs = 5000, what = 'message') {
    return waitFor(() => this.messages.find(pred), timeoutMs, `${what} on raw socket`);
  }

  /** Pushes and waits for the phx_reply carrying the same ref. */
  async request(topic, event, payload, { joinRef = null, timeoutMs = 5000 } = {}) {
    const ref = this.push(topic, event, payload, { joinRef });
    return this.waitMessage((m) => m.event === 'phx_reply' && m.ref === ref && m.topic === topic, timeoutMs, `reply to ${event} ${topic}`);
  }

  /** Joins `realtime:<name>`; resolves {reply, joinRef, topic}. */
  async join(name, { config = {}, accessToken, timeoutMs = 5000 } = {}) {
    const topic = `realtime:${name}`;
    const joinRef = this.nextRef();
    const payload = {
      config: {
        broadcast: { ack: false, self: false },
        presence: { key: '', enabled: false },
        postgres_changes: [],
        private: false,
        ...config,
      },
    };
    if (accessToken) payload.access_token = accessToken;
    this.ws.send(this.encode(joinRef, joinRef, topic, 'phx_join', payload));
    const reply = await this.waitMessage((m) => m.event === 'phx_reply' && m.ref === joinRef && m.topic === topic, timeoutMs, `join reply ${topic}`);
    return { reply, joinRef, topic };
  }

  async close() {
    if (this.closed) return;
    await withTimeout(new Promise((res) => {
      this.ws.once('close', res);
      this.ws.close(1000);
    }), 3000, 'raw close').catch(() => this.ws.terminate());
  }

  terminate() {
    this.ws.terminate();
  }
}

/** GET/POST helpers around global fetch that always consume the body. */
export async function http(server, path, { method = 'GET', headers = {}, body } = {}) {
  const res = await fetch(`${server.url}${path}`, { method, headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/**
 * channel.send of a broadcast. Without `ack` the server never replies, yet realtime-js still arms a
 * push timeout (10 s by default) that would keep the test process alive after the test; for those
 * sends a short push timeout is used (the promise resolves 'ok' immediately either way).
 */
export function broadcast(channel, event, payload) {
  const ack = channel.params?.config?.broadcast?.ack === true;
  return channel.send({ type: 'broadcast', event, payload }, ack ? {} : { timeout: 50 });
}
