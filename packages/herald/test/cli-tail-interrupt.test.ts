import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { encodeCursor } from '@herald/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, startCli } from './cli-process.js';

// Ctrl-C while `herald tail` waits for the hub's first answer (up to 10 s) stops it at once.

const servers: Server[] = [];
afterEach(async () => {
  await killAll();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** A TCP listener that reads requests and never answers; resolves with its URL and a promise of the first request's bytes. */
async function silentHub(): Promise<{ url: string; requested: Promise<string> }> {
  const sockets: Socket[] = [];
  let requestedResolve: (head: string) => void = () => {};
  const requested = new Promise<string>((resolve) => (requestedResolve = resolve));
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.once('data', (chunk: Buffer) => requestedResolve(chunk.toString()));
    socket.on('error', () => {});
  });
  server.on('close', () => sockets.forEach((socket) => socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requested };
}

describe('herald tail, interrupted before the hub answered', () => {
  it('exits 0 at once on Ctrl-C, saying nothing was subscribed', async () => {
    const hub = await silentHub();
    const cli = startCli(['tail', 'chat', '--url', hub.url]);
    expect(await hub.requested).toMatch(/^GET \/api\/messages\?channel=chat&since=now /);
    const sent = performance.now();
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    expect(performance.now() - sent).toBeLessThan(3_000);
    expect(cli.stdout()).toBe('');
    expect(cli.stderr()).toBe('herald: no position to resume from yet (nothing was subscribed)\n');
  });

  it('with --since, prints that cursor (for the channels tailed) to resume from', async () => {
    const hub = await silentHub();
    const given = encodeCursor(
      new Map([
        ['chat', { epoch: 'e', offset: 4 }],
        ['other', { epoch: 'e', offset: 9 }],
      ]),
    );
    const cli = startCli(['tail', 'chat', '--url', hub.url, '--since', given, '--json']);
    await hub.requested;
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    expect(JSON.parse(cli.stdout())).toEqual({ type: 'cursor', cursor: encodeCursor(new Map([['chat', { epoch: 'e', offset: 4 }]])) });
  });
});
