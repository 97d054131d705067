// Graceful shutdown: SIGTERM tells subscribed clients before closing their sockets, and exits 0.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startServer, makeClient, subscribed, closeAll, uniqueName, waitFor, RawClient,
} from './harness.mjs';

describe('graceful shutdown', () => {
  let server;
  const clients = [];
  // where the kubelet would have created /dev/termination-log
  const terminationLog = join(mkdtempSync(join(tmpdir(), 'drain-')), 'termination-log');
  before(async () => {
    writeFileSync(terminationLog, '');
    server = await startServer({ REALTIME_SHUTDOWN_DRAIN_MS: 2000, REALTIME_TERMINATION_MESSAGE_PATH: terminationLog });
  });
  after(async () => {
    await closeAll(clients);
    await server?.stop('SIGKILL');
  });

  it('SIGTERM: channels get a system "Server requested disconnect" before the socket closes; exit code 0', async () => {
    const events = [];
    const c = makeClient(server);
    clients.push(c);
    const name = uniqueName('bye');
    const ch = c.channel(name);
    ch.on('system', {}, (p) => events.push({ what: 'system', p }));
    await subscribed(ch);
    const socket = c.realtime.socketAdapter.getSocket();
    socket.onClose(() => {
      events.push({ what: 'close' });
      // do not let realtime-js try to reconnect to a server that is going away
      socket.reconnectTimer.reset();
    });

    const raw = await RawClient.open(server, { vsn: '1.0.0' });
    clients.push(raw);
    const { reply, topic } = await raw.join(uniqueName('bye-raw'));
    assert.equal(reply.payload.status, 'ok');

    const code = await server.stop('SIGTERM');
    assert.equal(code, 0, `exit code; output tail:\n${server.output().slice(-3000)}`);

    await waitFor(() => events.some((e) => e.what === 'close'), 5000, 'client socket close');
    const sysIndex = events.findIndex((e) => e.what === 'system' && e.p?.message === 'Server requested disconnect');
    const closeIndex = events.findIndex((e) => e.what === 'close');
    assert.ok(sysIndex >= 0, `system message received: ${JSON.stringify(events)}`);
    assert.ok(sysIndex < closeIndex, 'system message arrives before the socket closes');

    await waitFor(() => raw.closed, 5000, 'raw socket closed');
    const rawSys = raw.messages.find((m) => m.event === 'system' && m.topic === topic);
    assert.ok(rawSys, `raw vsn 1.0.0 socket got a system message: ${JSON.stringify(raw.messages)}`);
    assert.equal(rawSys.payload.message, 'Server requested disconnect');

    // the drain's summary is the termination message the operator reads: both sockets went within the window
    const summary = readFileSync(terminationLog, 'utf8');
    assert.match(summary, /^drain: 2 sockets in \d+ ms of a 2000 ms window, 0 closed at its end\n$/, summary);
  });
});
