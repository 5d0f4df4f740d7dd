import { WsTestClient } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, startCliHub, writeConfig } from './cli-process.js';

afterEach(killAll);

/** The permessage-deflate parameters the hub answered a `ws` client's default offer with (`undefined`: no extension). */
async function answered(url: string): Promise<Record<string, unknown> | undefined> {
  const client = await WsTestClient.connect(`${url.replace(/^http/, 'ws')}/ws`, { perMessageDeflate: true });
  const extension = (client.socket as unknown as { _extensions: Record<string, { params: Record<string, unknown> } | undefined> })
    ._extensions['permessage-deflate'];
  await client.close();
  return extension?.params;
}

describe('herald start: WebSocket context takeover', () => {
  it('is off by default, on with --ws-context-takeover or the file, and off with --no-compression', async () => {
    const plain = await startCliHub();
    expect(await answered(plain.url)).toEqual({ server_no_context_takeover: true, client_no_context_takeover: true });
    const flag = await startCliHub(['--ws-context-takeover']);
    expect(await answered(flag.url)).toEqual({ client_no_context_takeover: true });
    const file = await startCliHub(['--config', writeConfig({ compression: { contextTakeover: true, windowBits: 10 } })]);
    expect(await answered(file.url)).toEqual({ client_no_context_takeover: true });
    const off = await startCliHub(['--ws-context-takeover', '--no-compression']);
    expect(await answered(off.url)).toBeUndefined();
  });
});
