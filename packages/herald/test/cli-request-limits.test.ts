import { ErrorCode } from '@herald/protocol';
import { startHeraldNode, type HeraldNode } from '@herald/testkit';
import { afterEach, expect, it } from 'vitest';
import { killAll, writeConfig } from './cli-process.js';

const API_KEY = 'request-limits-api-key-0123456789';
let node: HeraldNode | undefined;
afterEach(async () => {
  await node?.stop();
  node = undefined;
  await killAll();
});

it('herald start applies limits.requests of the config file: the address limit comes before the token check, the API key is not limited', async () => {
  const history = { perIp: { perSecond: 0.1, burst: 1 } };
  const config = writeConfig({ auth: { secret: 's'.repeat(32) }, apiKeys: [API_KEY], limits: { requests: { history } } });
  node = await startHeraldNode({ args: ['--config', config] });
  const read = (headers: Record<string, string> = {}): Promise<Response> => fetch(`${node!.url}/api/history?channel=c`, { headers });
  // Without a token: 401 (this hub needs a token), then the address is out of requests.
  expect((await read()).status).toBe(401);
  const refused = await read();
  // 10 s per request, less the time since the first (whole seconds, rounded up).
  expect([refused.status, refused.headers.get('retry-after'), await refused.json()]).toEqual([
    429,
    expect.stringMatching(/^(9|10)$/),
    { error: { code: ErrorCode.RateLimited, message: 'at most 0.1 history requests per second per IP address' } },
  ]);
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await read({ 'X-Herald-Key': API_KEY })).status);
  expect(statuses).toEqual([200, 200, 200]);
});
