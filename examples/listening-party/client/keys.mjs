// Prints client keys signed with the tenant's JWT secret (HS256), as Supabase's anon key and a signed-in
// user's access token look. Usage:
//   JWT_SECRET=... node keys.mjs                 -> ANON_KEY=...
//   JWT_SECRET=... USER_ID=<uuid> node keys.mjs  -> ANON_KEY=... and USER_TOKEN=... (role authenticated)
// Get the secret from the cluster with:
//   kubectl -n listening-party get secret listening-party-jwt -o jsonpath='{.data.jwt-secret}' | base64 -d
import { createHmac } from 'node:crypto';

export function sign(claims, secret) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

export function keys(secret, userId, now = Math.floor(Date.now() / 1000)) {
  if (!secret || secret.length < 32) {
    throw new Error('JWT_SECRET must be set to the tenant JWT secret (at least 32 characters)');
  }
  const out = { ANON_KEY: sign({ iss: 'supabase', role: 'anon', iat: now, exp: now + 365 * 24 * 3600 }, secret) };
  if (userId) {
    out.USER_TOKEN = sign({
      iss: 'supabase', aud: 'authenticated', role: 'authenticated', sub: userId, iat: now, exp: now + 24 * 3600,
    }, secret);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    for (const [k, v] of Object.entries(keys(process.env.JWT_SECRET, process.env.USER_ID))) {
      console.log(`${k}=${v}`);
    }
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
}
