import { describe, expect, it } from 'vitest';
import * as wsModule from 'ws';

interface FrameReceiver {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  write(chunk: Buffer): void;
}
// ws exports its frame parser at run time; @types/ws does not declare it.
const { Receiver } = wsModule as unknown as { Receiver: new (options: { isServer: boolean }) => FrameReceiver };
import { wsBinaryFrame, wsTextFrame } from './ws-frame.js';

/** Decodes frames with ws's own receiver (client side), as a real peer would. */
function decode(frame: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false });
    receiver.on('message', (data: Buffer, isBinary: boolean) => (isBinary ? reject(new Error('binary')) : resolve(data.toString('utf8'))));
    receiver.on('error', reject);
    receiver.write(frame);
  });
}

describe('wsTextFrame', () => {
  it.each([0, 1, 125, 126, 127, 65_535, 65_536, 200_000])('frames %i bytes so a WebSocket peer reads them back', async (length) => {
    const text = 'é'.repeat(Math.floor(length / 2)) + 'a'.repeat(length % 2);
    const frame = wsTextFrame(text);
    expect(frame[0]).toBe(0x81);
    expect(await decode(frame)).toBe(text);
  });
});

describe('wsBinaryFrame', () => {
  it.each([0, 125, 126, 65_536])('frames %i bytes as one binary frame a WebSocket peer reads back', async (length) => {
    const bytes = Uint8Array.from({ length }, (_, i) => i % 251);
    const frame = wsBinaryFrame(bytes);
    expect(frame[0]).toBe(0x82);
    const received = await new Promise<Buffer>((resolve, reject) => {
      const receiver = new Receiver({ isServer: false });
      receiver.on('message', (data: Buffer, isBinary: boolean) => (isBinary ? resolve(data) : reject(new Error('text'))));
      receiver.on('error', reject);
      receiver.write(frame);
    });
    expect(Buffer.compare(received, Buffer.from(bytes))).toBe(0);
  });
});
