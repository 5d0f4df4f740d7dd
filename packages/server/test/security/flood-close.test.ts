import { CloseCode, ErrorCode } from '@herald/protocol';
import { WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { guardSuite, logLines, startHub } from './suite.js';
import { clientFrame, closeCodeOf, rawUpgrade, type RawUpgrade } from './wire.js';

/**
 * A session closed for a command flood: the hub logs it once, reads and answers nothing more from
 * it, and cuts the socket 1 s after its close frame when the peer never answers that frame.
 */

guardSuite();

const TEXT = 0x1;
const CLOSE = 0x8;
/** The hub's bound on the close handshake after a flood, plus room for a busy event loop. */
const CUT_WITHIN_MS = 2000;

let hub: TestHub | undefined;
const raws: RawUpgrade[] = [];

afterEach(async () => {
  for (const raw of raws.splice(0)) raw.socket.destroy();
  await hub?.close();
  hub = undefined;
});

const pings = (from: number, n: number): Buffer =>
  Buffer.concat(Array.from({ length: n }, (_, i) => clientFrame(TEXT, JSON.stringify({ id: from + i, type: 'ping' }))));

describe('a session closed for a command flood', () => {
  it('logs one warning, answers nothing after its close frame, and is cut within 1 s by a peer that never answers the close', async () => {
    hub = await startHub({ commandsPerSecond: 10, commandBurst: 20, connectionsPerIp: 1 });
    const logged = logLines.length;
    const raw = await rawUpgrade(hub.port);
    raws.push(raw);
    // 1,000 frames in one write: far more than the 20 + 50 the hub acts on, most in one read.
    raw.socket.write(pings(0, 1000));
    const frames = await raw.frames.until((fs) => fs.some((f) => f.opcode === CLOSE), 'the close frame');
    const closeFrame = frames.find((f) => f.opcode === CLOSE)!;
    expect(closeCodeOf(closeFrame)).toBe(CloseCode.RateLimited);
    expect(closeFrame.payload.subarray(2).toString()).toBe('too many commands');
    // The peer goes on flooding and never sends its own close frame.
    raw.socket.write(pings(1000, 1000));

    let deadline: NodeJS.Timeout | undefined;
    const cut = await Promise.race([
      raw.closed.then(() => 'cut'),
      new Promise((resolve) => (deadline = setTimeout(() => resolve('still open'), CUT_WITHIN_MS))),
    ]);
    clearTimeout(deadline);
    expect(cut).toBe('cut');
    const texts = raw.frames.items.filter((f) => f.opcode === TEXT).map((f) => JSON.parse(f.payload.toString()));
    const refused = texts.filter((t) => t.error?.code === ErrorCode.RateLimited);
    expect(refused).toHaveLength(49);
    expect(texts.length - refused.length).toBeGreaterThanOrEqual(20);
    expect(texts.length - refused.length).toBeLessThanOrEqual(22);
    // Nothing after the close frame.
    expect(raw.frames.items.at(-1)).toBe(closeFrame);
    const warnings = logLines.slice(logged).filter((line) => line.startsWith('["warn"'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('command flood: session closed');

    // Its connection slot is free again: the hub saw the socket end.
    const next = await WsTestClient.connect(hub.wsUrl);
    expect((await next.request({ type: 'ping' })).error).toBeUndefined();
    await next.close();
  });
});
