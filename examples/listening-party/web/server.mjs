// The listening-party web app's development server: one origin for everything the app's supabase-js client calls,
// as a Supabase project's API gateway gives it.
//   /                 the app (public/), supabase-js's browser bundle (/vendor/supabase.js) and the client helpers
//                     of ../client (/lib/clock-sync.mjs, /lib/history.mjs)
//   /config.json      the tenant's anon key (public by design: row-level security decides what it may do)
//   /realtime/v1/...  proxied to the runtime, WebSocket included
//   /auth/v1/...      anonymous sign-in and token refresh, as supabase-js's auth.signInAnonymously() expects
//   /rest/v1/<table>  select, insert, upsert, update and delete on public tables with PostgREST's query syntax, run
//                     as the token's role with its claims set, so the tables' row-level security policies apply
//
//   node server.mjs                 starts the runtime jar standalone (embedded PostgreSQL), applies ../schema.sql
//                                   once, then serves http://127.0.0.1:3000/
//   REALTIME_URL=... DATABASE_URL=... JWT_SECRET=... node server.mjs
//                                   serves the app in front of a runtime and a database that already run
//
// Environment: PORT (3000), HOST (127.0.0.1); when it starts the runtime: REALTIME_JAR (the built jar of this
// repository), REALTIME_PORT (4000), REALTIME_EMBEDDED_DB_PORT (54322), JWT_SECRET (generated when unset).
// This server is for development and tests: in production the app talks to the tenant's runtime and to its own
// data API (Supabase's PostgREST, or the app's backend).
import { spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { keys, sign } from '../client/keys.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ACCESS_TOKEN_SECONDS = 3600;
const API_ROLES = new Set(['anon', 'authenticated', 'service_role']);
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const MAX_BODY_BYTES = 1 << 20;

const STATIC = {
  '/vendor/supabase.js': resolve(HERE, 'node_modules/@supabase/supabase-js/dist/umd/supabase.js'),
  '/lib/clock-sync.mjs': resolve(HERE, '../client/clock-sync.mjs'),
  '/lib/history.mjs': resolve(HERE, '../client/history.mjs'),
};
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml',
};

/** An error the client caused, answered as PostgREST and GoTrue answer theirs: {code, message, hint}. */
class ApiError extends Error {
  constructor(status, message, { code = String(status), hint = null, details = null } = {}) {
    super(message);
    Object.assign(this, { status, code, hint, details });
  }
}

// ------------------------------------------------------------------------------------------------------------------
// tokens

/** The claims of an HS256 token signed with `secret`, or an ApiError(401) saying what is wrong with it. */
export function verify(token, secret, nowSeconds = Date.now() / 1000) {
  const parts = String(token ?? '').split('.');
  if (parts.length !== 3) throw new ApiError(401, 'Expected a JWT in the Authorization header', { code: 'PGRST301' });
  const [head, body, signature] = parts;
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw new ApiError(401, 'The JWT is malformed', { code: 'PGRST301' });
  }
  if (header.alg !== 'HS256') throw new ApiError(401, `JWT algorithm ${header.alg} is not HS256`, { code: 'PGRST301' });
  const expected = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ApiError(401, 'The JWT signature does not match the tenant secret', { code: 'PGRST301' });
  }
  if (typeof claims.exp === 'number' && claims.exp < nowSeconds) {
    throw new ApiError(401, 'The JWT expired: sign in again or refresh the session', { code: 'PGRST303' });
  }
  if (!API_ROLES.has(claims.role)) {
    throw new ApiError(401, `The JWT role ${JSON.stringify(claims.role)} is not one of ${[...API_ROLES].join(', ')}`,
      { code: 'PGRST301' });
  }
  return claims;
}

/** The request's token: the Authorization bearer, else the apikey header (supabase-js sends both). */
function requestToken(req) {
  const auth = req.headers.authorization ?? '';
  return auth.toLowerCase().startsWith('bearer ') ? auth.slice(7).trim() : req.headers.apikey;
}

// ------------------------------------------------------------------------------------------------------------------
// /auth/v1: anonymous users, as GoTrue's anonymous sign-ins give them

function authApi(secret) {
  const refreshTokens = new Map(); // refresh token -> user id

  const session = (userId, createdAt) => {
    const now = Math.floor(Date.now() / 1000);
    const refresh = randomBytes(24).toString('base64url');
    refreshTokens.set(refresh, { userId, createdAt });
    const user = {
      id: userId, aud: 'authenticated', role: 'authenticated', is_anonymous: true, email: '', phone: '',
      app_metadata: { provider: 'anonymous', providers: ['anonymous'] }, user_metadata: {},
      created_at: createdAt, updated_at: new Date().toISOString(),
    };
    const accessToken = sign({
      iss: 'listening-party-web', aud: 'authenticated', role: 'authenticated', sub: userId, is_anonymous: true,
      session_id: randomUUID(), iat: now, exp: now + ACCESS_TOKEN_SECONDS,
    }, secret);
    return {
      access_token: accessToken, token_type: 'bearer', expires_in: ACCESS_TOKEN_SECONDS,
      expires_at: now + ACCESS_TOKEN_SECONDS, refresh_token: refresh, user,
    };
  };

  return async (req, path, query) => {
    if (req.method === 'POST' && path === '/signup') {
      return [200, session(randomUUID(), new Date().toISOString())];
    }
    if (req.method === 'POST' && path === '/token' && query.get('grant_type') === 'refresh_token') {
      const { refresh_token: token } = await jsonBody(req);
      const known = refreshTokens.get(token);
      if (!known) throw new ApiError(400, 'Invalid Refresh Token: Refresh Token Not Found', { code: 'refresh_token_not_found' });
      refreshTokens.delete(token);
      return [200, session(known.userId, known.createdAt)];
    }
    if (req.method === 'POST' && path === '/logout') {
      return [204, null];
    }
    throw new ApiError(404, `This development server signs users in anonymously only (POST /auth/v1/signup); ${req.method} `
      + `/auth/v1${path} is not served`, { code: 'not_found' });
  };
}

// ------------------------------------------------------------------------------------------------------------------
// /rest/v1: PostgREST's query syntax, for the calls the app makes

const OPERATORS = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };
const RESERVED = new Set(['select', 'order', 'limit', 'offset', 'on_conflict', 'columns']);

function ident(name, what = 'column') {
  if (!IDENTIFIER.test(name)) throw new ApiError(400, `Invalid ${what} name ${JSON.stringify(name)}`, { code: 'PGRST100' });
  return `"${name}"`;
}

/** The WHERE clause of the query's column filters (`col=op.value`), with its values as parameters. */
function filters(query, params) {
  const clauses = [];
  for (const [column, expr] of query) {
    if (RESERVED.has(column)) continue;
    const dot = expr.indexOf('.');
    const op = dot < 0 ? expr : expr.slice(0, dot);
    const value = dot < 0 ? '' : expr.slice(dot + 1);
    if (op === 'is') {
      const v = { null: 'NULL', true: 'TRUE', false: 'FALSE' }[value];
      if (!v) throw new ApiError(400, `is.${value}: expected is.null, is.true or is.false`, { code: 'PGRST100' });
      clauses.push(`${ident(column)} IS ${v}`);
    } else if (op === 'in') {
      const m = /^\((.*)\)$/.exec(value);
      if (!m) throw new ApiError(400, `in.${value}: expected in.(a,b,c)`, { code: 'PGRST100' });
      params.push(m[1] === '' ? [] : m[1].split(','));
      clauses.push(`${ident(column)}::text = ANY($${params.length}::text[])`);
    } else if (OPERATORS[op]) {
      params.push(value);
      clauses.push(`${ident(column)} ${OPERATORS[op]} $${params.length}`);
    } else {
      throw new ApiError(400, `Unsupported filter ${column}=${expr}: use eq, neq, gt, gte, lt, lte, is or in`,
        { code: 'PGRST100' });
    }
  }
  return clauses.length ? ` WHERE ${clauses.join(' AND ')}` : '';
}

function selectList(query) {
  const s = query.get('select') ?? '*';
  return s === '*' ? '*' : s.split(',').map((c) => ident(c.trim())).join(', ');
}

function orderBy(query) {
  const o = query.get('order');
  if (!o) return '';
  return ' ORDER BY ' + o.split(',').map((term) => {
    const [column, ...mods] = term.split('.');
    const dir = mods.includes('desc') ? 'DESC' : 'ASC';
    const nulls = mods.includes('nullsfirst') ? ' NULLS FIRST' : mods.includes('nullslast') ? ' NULLS LAST' : '';
    return `${ident(column)} ${dir}${nulls}`;
  }).join(', ');
}

function limitOffset(query) {
  const n = (k) => {
    const v = query.get(k);
    if (v === null) return '';
    if (!/^\d+$/.test(v)) throw new ApiError(400, `${k}=${v}: expected a whole number`, { code: 'PGRST100' });
    return ` ${k.toUpperCase()} ${v}`;
  };
  return n('limit') + n('offset');
}

/** PostgreSQL errors as PostgREST maps them: RLS and grants to 401/403, constraint violations to 409, the rest 400. */
function fromPostgres(e, role) {
  const status = e.code === '42501' ? (role === 'anon' ? 401 : 403)
    : ['23505', '23503'].includes(e.code) ? 409
      : e.code === '42P01' ? 404
        : /^(22|23|42)/.test(e.code ?? '') ? 400 : 500;
  return new ApiError(status, e.message, { code: e.code, hint: e.hint ?? null, details: e.detail ?? null });
}

function restApi(pool, secret) {
  return async (req, path, query) => {
    const table = path.replace(/^\//, '');
    const claims = verify(requestToken(req), secret);
    const prefer = String(req.headers.prefer ?? '');
    const params = [];
    let sql;
    if (req.method === 'GET' || req.method === 'HEAD') {
      sql = `SELECT ${selectList(query)} FROM public.${ident(table, 'table')}${filters(query, params)}`
        + `${orderBy(query)}${limitOffset(query)}`;
    } else if (req.method === 'POST') {
      const body = await jsonBody(req);
      const rows = Array.isArray(body) ? body : [body];
      if (rows.length === 0 || rows.some((r) => r === null || typeof r !== 'object' || Array.isArray(r))) {
        throw new ApiError(400, 'Expected a JSON object or a non-empty array of objects', { code: 'PGRST102' });
      }
      const columns = [...new Set(rows.flatMap(Object.keys))].map((c) => ident(c));
      params.push(JSON.stringify(rows));
      sql = `INSERT INTO public.${ident(table, 'table')} (${columns.join(', ')}) SELECT ${columns.join(', ')}`
        + ` FROM json_populate_recordset(NULL::public.${ident(table, 'table')}, $1::json)`;
      const conflict = query.get('on_conflict');
      if (conflict) {
        const keysOf = conflict.split(',').map((c) => ident(c.trim()));
        const updates = columns.filter((c) => !keysOf.includes(c));
        sql += prefer.includes('resolution=ignore-duplicates') || updates.length === 0
          ? ` ON CONFLICT (${keysOf.join(', ')}) DO NOTHING`
          : ` ON CONFLICT (${keysOf.join(', ')}) DO UPDATE SET ${updates.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
      }
      sql += ' RETURNING *';
    } else if (req.method === 'PATCH') {
      const body = await jsonBody(req);
      if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length === 0) {
        throw new ApiError(400, 'Expected a JSON object of the columns to change', { code: 'PGRST102' });
      }
      const columns = Object.keys(body).map((c) => ident(c));
      params.push(JSON.stringify(body));
      sql = `UPDATE public.${ident(table, 'table')} SET (${columns.join(', ')}) = (SELECT ${columns.join(', ')}`
        + ` FROM json_populate_record(NULL::public.${ident(table, 'table')}, $1::json))`;
      const where = filters(query, params);
      if (!where) throw new ApiError(400, 'UPDATE needs a filter (e.g. ?id=eq.1)', { code: '21000' });
      sql += `${where} RETURNING *`;
    } else if (req.method === 'DELETE') {
      const where = filters(query, params);
      if (!where) throw new ApiError(400, 'DELETE needs a filter (e.g. ?id=eq.1)', { code: '21000' });
      sql = `DELETE FROM public.${ident(table, 'table')}${where} RETURNING *`;
    } else {
      throw new ApiError(405, `${req.method} is not supported on /rest/v1`, { code: 'PGRST117' });
    }
    const db = await pool.connect();
    try {
      await db.query('BEGIN');
      await db.query(`SET LOCAL ROLE ${claims.role}`);
      await db.query("SELECT set_config('request.jwt.claims', $1, true), set_config('request.jwt.claim.sub', $2, true)",
        [JSON.stringify(claims), claims.sub ?? '']);
      const result = await db.query(sql, params);
      await db.query('COMMIT');
      const returned = req.method === 'GET' || prefer.includes('return=representation');
      return [req.method === 'POST' ? 201 : 200, returned ? result.rows : null];
    } catch (e) {
      await db.query('ROLLBACK').catch(() => {});
      throw e instanceof ApiError ? e : fromPostgres(e, claims.role);
    } finally {
      db.release();
    }
  };
}

// ------------------------------------------------------------------------------------------------------------------
// HTTP plumbing

function jsonBody(req) {
  return new Promise((resolveBody, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, `The body is larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolveBody({});
      try {
        resolveBody(JSON.parse(text));
      } catch {
        reject(new ApiError(400, 'The body is not valid JSON', { code: 'PGRST102' }));
      }
    });
    req.on('error', reject);
  });
}

function send(res, status, body, headers = {}) {
  if (body === null || body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(text);
}

function serveFile(res, file) {
  if (!existsSync(file) || !statSync(file).isFile()) {
    send(res, 404, { message: 'Not found' });
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  createReadStream(file).pipe(res);
}

/** Forwards an HTTP request to the runtime. */
function proxyHttp(req, res, target) {
  const upstream = httpRequest({
    host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers,
  }, (up) => {
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  upstream.on('error', (e) => send(res, 502, { message: `The runtime at ${target.origin} did not answer: ${e.message}` }));
  req.pipe(upstream);
}

/** Forwards a WebSocket upgrade to the runtime and then the bytes both ways. */
function proxyUpgrade(req, socket, head, target) {
  const upstream = connect(Number(target.port), target.hostname, () => {
    upstream.setNoDelay(true);
    socket.setNoDelay(true);
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(lines.join('\r\n') + '\r\n\r\n');
    if (head?.length) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  const close = () => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.on('error', close);
  socket.on('error', close);
  upstream.on('close', close);
  socket.on('close', close);
}

/**
 * Serves the app. Returns {server, url, close()} once listening.
 * @param {{port: number, host: string, realtimeUrl: string, pool: pg.Pool, secret: string, anonKey: string}} o
 */
export async function serve({ port, host, realtimeUrl, pool, secret, anonKey }) {
  const target = new URL(realtimeUrl);
  const auth = authApi(secret);
  const rest = restApi(pool, secret);
  const publicDir = resolve(HERE, 'public');
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const path = url.pathname;
    try {
      if (path.startsWith('/realtime/v1/')) return proxyHttp(req, res, target);
      if (path.startsWith('/auth/v1/')) {
        const [status, body] = await auth(req, path.slice('/auth/v1'.length), url.searchParams);
        return send(res, status, body);
      }
      if (path.startsWith('/rest/v1/')) {
        const [status, body] = await rest(req, path.slice('/rest/v1'.length), url.searchParams);
        return send(res, status, body);
      }
      if (path === '/config.json') return send(res, 200, { anonKey });
      if (path === '/favicon.ico') return send(res, 204, null);
      if (STATIC[path]) return serveFile(res, STATIC[path]);
      const file = resolve(publicDir, '.' + (path === '/' ? '/index.html' : decodeURIComponent(path)));
      if (!file.startsWith(publicDir + sep)) return send(res, 404, { message: 'Not found' });
      return serveFile(res, file);
    } catch (e) {
      if (e instanceof ApiError) {
        return send(res, e.status, { code: e.code, message: e.message, hint: e.hint, details: e.details });
      }
      console.error(`${req.method} ${path}: ${e.stack ?? e}`);
      return send(res, 500, { message: 'Internal error: see the server log' });
    }
  });
  const upgraded = new Set();
  server.on('upgrade', (req, socket, head) => {
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    if (new URL(req.url, 'http://localhost').pathname.startsWith('/realtime/v1/')) {
      proxyUpgrade(req, socket, head, target);
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, ok);
  });
  return {
    server,
    url: `http://${host}:${server.address().port}`,
    /** Stops listening and drops every connection, proxied WebSockets included (which `server.close` leaves open). */
    close: () => new Promise((ok) => {
      server.close(ok);
      server.closeAllConnections();
      for (const socket of upgraded) socket.destroy();
    }),
  };
}

// ------------------------------------------------------------------------------------------------------------------
// the runtime, when this server starts it

/** Starts the runtime jar standalone and resolves once /readyz answers 200; rejects with its output if it stops. */
async function startRuntime({ jar, port, dbPort, secret }) {
  if (!existsSync(jar)) {
    throw new Error(`No runtime jar at ${jar}: build it with \`./mvnw -B -q package -DskipTests\` at the repository's `
      + 'root, or set REALTIME_JAR (or REALTIME_URL, DATABASE_URL and JWT_SECRET for a runtime that already runs)');
  }
  const env = {
    ...process.env,
    REALTIME_PORT: String(port),
    REALTIME_EMBEDDED_DB_PORT: String(dbPort),
    REALTIME_JWT_SECRET: secret,
    REALTIME_HISTORY_TOPICS: process.env.REALTIME_HISTORY_TOPICS ?? 'party:*',
    REALTIME_LATEST_EVENTS: process.env.REALTIME_LATEST_EVENTS ?? 'playback:sync',
  };
  delete env.REALTIME_DB_URL;
  const child = spawn('java', ['-jar', jar], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((ok) => child.on('exit', (code, signal) => ok(code ?? signal)));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const stopped = await Promise.race([exited, new Promise((ok) => setTimeout(() => ok(undefined), 200))]);
    if (stopped !== undefined) throw new Error(`The runtime stopped (${stopped}) while starting:\n${output}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) return { child, exited, output: () => output };
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`The runtime was not ready within 120 s:\n${output}`);
    }
  }
}

/** Applies ../schema.sql unless its tables exist. */
async function applySchema(pool) {
  const { rows } = await pool.query("SELECT to_regclass('public.sessions') IS NOT NULL AS present");
  if (rows[0].present) return false;
  await pool.query(readFileSync(resolve(HERE, '../schema.sql'), 'utf8'));
  return true;
}

/** The runtime this process started, stopped if this process fails after starting it. */
let started;

async function main() {
  const env = process.env;
  const port = Number(env.PORT ?? 3000);
  const host = env.HOST ?? '127.0.0.1';
  let runtime;
  let realtimeUrl = env.REALTIME_URL;
  let databaseUrl = env.DATABASE_URL;
  let secret = env.JWT_SECRET;
  if (!realtimeUrl) {
    const realtimePort = Number(env.REALTIME_PORT ?? 4000);
    const dbPort = Number(env.REALTIME_EMBEDDED_DB_PORT ?? 54322);
    secret = secret ?? randomBytes(32).toString('base64url');
    runtime = started = await startRuntime({
      jar: resolve(env.REALTIME_JAR ?? join(HERE, '../../../realtime-runtime/target/realtime-runtime.jar')),
      port: realtimePort, dbPort, secret,
    });
    realtimeUrl = `http://127.0.0.1:${realtimePort}`;
    databaseUrl = `postgres://postgres:postgres@127.0.0.1:${dbPort}/postgres`;
  } else if (!databaseUrl || !secret) {
    throw new Error('With REALTIME_URL set, DATABASE_URL (the tenant database, as its owner) and JWT_SECRET (the '
      + 'tenant secret) must be set too');
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  pool.on('error', (e) => console.error(`database: ${e.message}`));
  if (await applySchema(pool)) console.log('Applied examples/listening-party/schema.sql');
  const app = await serve({ port, host, realtimeUrl, pool, secret, anonKey: keys(secret).ANON_KEY });
  console.log(`Listening party at ${app.url}/ (runtime ${realtimeUrl})`);
  console.log(`  DJ:        ${app.url}/party.html?dj`);
  console.log(`  listeners: ${app.url}/ lists the live parties`);

  let stopping = false;
  const stop = async () => {
    stopping = true;
    await app.close();
    if (runtime) {
      runtime.child.kill('SIGTERM');
      await runtime.exited;
    }
    await pool.end().catch(() => {});
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  runtime?.exited.then((code) => {
    if (stopping) return;
    console.error(`The runtime stopped (${code}):\n${runtime.output()}`);
    process.exit(1);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e.message);
    started?.child.kill('SIGKILL');
    process.exit(1);
  });
}
