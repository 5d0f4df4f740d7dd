import { ErrorCode } from '@herald/protocol';
import { startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const scrape = async (
  hub: TestHub,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; text: string }> => {
  const res = await fetch(`${hub.url}/metrics`, { headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};
const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('GET /metrics', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('counts connections, publishes (stored and duplicate) and live messages, with no channel or user in any label', async () => {
    hub = await startTestHub();
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'secret-room-name' });
    await hub.server.hub.publish('secret-room-name', 1);
    await hub.server.hub.publish('secret-room-name', 2, { idempotencyKey: 'k' });
    await hub.server.hub.publish('secret-room-name', 2, { idempotencyKey: 'k' });
    await ws.waitForMessages(2);
    const { status, type, text } = await scrape(hub);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(value(text, 'herald_connections{transport="websocket"}')).toBe(1);
    expect(value(text, 'herald_connections{transport="sse"}')).toBe(0);
    expect(value(text, 'herald_active_channels')).toBe(1);
    expect(value(text, 'herald_publishes_total{result="stored"}')).toBe(2);
    expect(value(text, 'herald_publishes_total{result="duplicate"}')).toBe(1);
    expect(value(text, 'herald_live_messages_total')).toBe(2);
    expect(value(text, 'herald_ready')).toBe(1);
    expect(value(text, 'herald_engine_available')).toBe(1);
    expect(text).toContain('herald_process_cpu_user_seconds_total');
    expect(text).not.toContain('secret-room-name');
    await ws.close();
  });

  it('needs the API key when API keys are configured', async () => {
    hub = await startTestHub({ security: { apiKeys: ['m'.repeat(32)] } });
    const refused = await scrape(hub);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text)).toEqual({
      error: { code: ErrorCode.Unauthorized, message: '/metrics needs the API key (X-Herald-Key)' },
    });
    expect((await scrape(hub, { 'X-Herald-Key': 'm'.repeat(32) })).status).toBe(200);
  });

  it('is off with metrics: false', async () => {
    hub = await startTestHub({ metrics: false });
    expect((await scrape(hub)).status).toBe(404);
  });
});
