import { freePort } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, startCli } from './cli-process.js';

afterEach(killAll);

/** `herald start` with `env` and no `--port`; resolves with the URL it logs once listening. */
async function start(env: NodeJS.ProcessEnv, args: readonly string[] = []): Promise<{ url: string; stop: () => Promise<unknown> }> {
  const hub = startCli(['start', ...args], { env: { HERALD_LOG_LEVEL: 'info', ...env } });
  const [line] = await hub.waitFor(/^.*"msg":"herald is listening".*$/m);
  return {
    url: (JSON.parse(line) as { url: string }).url,
    stop: () => {
      hub.child.kill('SIGTERM');
      return hub.exited;
    },
  };
}

describe('PORT, as platforms set it', () => {
  it('PORT=<n> herald start listens on n, in the dev profile (PORT is no HERALD_* setting)', async () => {
    const port = await freePort();
    const hub = await start({ PORT: String(port) });
    expect(hub.url).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(`http://127.0.0.1:${port}/livez`)).status).toBe(200);
    // Dev profile: an open hub takes a publish without an API key.
    const published = await fetch(`http://127.0.0.1:${port}/api/publish`, {
      method: 'POST',
      body: JSON.stringify({ channel: 'port', data: 1 }),
    });
    expect({ status: published.status, body: await published.json() }).toMatchObject({ status: 200, body: { offset: 1 } });
    expect(await hub.stop()).toBe(0);
  });

  it('--port wins over PORT (and HERALD_PORT too: config.test.ts)', async () => {
    const [platform, flag] = [await freePort(), await freePort()];
    const hub = await start({ PORT: String(platform) }, ['--port', String(flag)]);
    expect(hub.url).toBe(`http://127.0.0.1:${flag}`);
    expect(await hub.stop()).toBe(0);
  });
});
