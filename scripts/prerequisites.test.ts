import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ensureNats,
  ensurePrerequisites,
  ensureRedis,
  findCommand,
  freePort,
  missingPrograms,
  natsAnswers,
  NATS_URL_VARIABLE,
  planPrerequisites,
  PROGRAMS,
  redisAnswers,
  REDIS_URL_VARIABLE,
} from './prerequisites.mjs';

const dirs: string[] = [];
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A directory for a fake PATH holding `programs` (executable) and `plain` (not executable). */
function fakeBin(programs: string[], plain: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-prereq-'));
  dirs.push(dir);
  for (const name of [...programs, ...plain]) writeFileSync(join(dir, name), '#!/bin/sh\nexit 0\n');
  for (const name of programs) chmodSync(join(dir, name), 0o755);
  return dir;
}

const byName = (name: string) => PROGRAMS.find((program) => program.name === name)!;
/** Only the absolute paths in `present` exist. */
const only =
  (...present: string[]) =>
  (file: string): boolean =>
    present.includes(file);

describe('findCommand and missingPrograms', () => {
  it('find a command in the first PATH directory that holds it executable', () => {
    const empty = fakeBin([]);
    const notExecutable = fakeBin([], ['redis-server']);
    const real = fakeBin(['redis-server']);
    expect(findCommand('redis-server', [empty, notExecutable, real].join(delimiter))).toBe(join(real, 'redis-server'));
    expect(findCommand('redis-server', [empty, notExecutable].join(delimiter))).toBeUndefined();
    expect(findCommand('redis-server', '')).toBeUndefined();
  });

  it('look for redis-server on PATH, and for nginx and Chromium where the tests run them', () => {
    const bin = fakeBin(['redis-server', 'nginx', 'chromium', 'curl', 'nats-server']);
    const onPath = [join(bin, 'redis-server'), join(bin, 'curl'), join(bin, 'nats-server')];
    // nginx and chromium on PATH do not count: the tests run /usr/sbin/nginx and /usr/bin/chromium.
    expect(missingPrograms(bin, only(...onPath)).map((p) => p.name)).toEqual(['nginx', 'chromium']);
    expect(missingPrograms('', only('/usr/sbin/nginx', '/usr/bin/chromium')).map((p) => p.name)).toEqual([
      'redis-server',
      'curl',
      'nats-server',
    ]);
    expect(missingPrograms(bin, only(...onPath, '/usr/sbin/nginx', '/usr/bin/chromium'))).toEqual([]);
  });
});

describe('planPrerequisites', () => {
  const all = [byName('redis-server'), byName('nginx'), byName('chromium')];

  it('does nothing when nothing is missing, wherever it runs', () => {
    expect(planPrerequisites([], { isRoot: false, isDebian: false, hasAptGet: false })).toEqual({ action: 'none' });
  });

  it("installs Debian's packages as root on Debian with apt-get", () => {
    expect(planPrerequisites(all, { isRoot: true, isDebian: true, hasAptGet: true })).toEqual({
      action: 'install',
      packages: ['redis-server', 'nginx', 'chromium'],
    });
    expect(planPrerequisites([byName('chromium')], { isRoot: true, isDebian: true, hasAptGet: true })).toEqual({
      action: 'install',
      packages: ['chromium'],
    });
  });

  it('stops on Debian without root, naming each program and the exact apt-get command', () => {
    expect(planPrerequisites([byName('redis-server'), byName('nginx')], { isRoot: false, isDebian: true, hasAptGet: true })).toEqual({
      action: 'stop',
      message:
        'npm test needs programs this machine lacks:\n' +
        '  redis-server  (the Redis engine and cluster tests)\n' +
        '  /usr/sbin/nginx  (the tests behind a proxy)\n' +
        'Install them as root, then run npm test again:\n' +
        '  sudo apt-get install -y redis-server nginx',
    });
  });

  it('stops elsewhere, naming the paths the tests use', () => {
    const plan = planPrerequisites(all, { isRoot: true, isDebian: false, hasAptGet: false });
    expect(plan.action).toBe('stop');
    const { message } = plan as { message: string };
    for (const text of ['  redis-server  (', '  /usr/sbin/nginx  (', '  /usr/bin/chromium  (the browser tests)', 'bash .ci/run'])
      expect(message).toContain(text);
    expect(message).not.toContain('apt-get install');
  });
});

describe('ensurePrerequisites', () => {
  it('stops before doing anything when a program is missing and cannot be installed', async () => {
    const env: NodeJS.ProcessEnv = { PATH: fakeBin([]) };
    await expect(ensurePrerequisites(env, { isRoot: false, isDebian: true, hasAptGet: true })).rejects.toThrow(
      /^npm test needs programs this machine lacks:\n {2}redis-server {2}\(/,
    );
    // No Redis was looked for, none started.
    expect(env[REDIS_URL_VARIABLE]).toBeUndefined();
  });
});

describe('ensureRedis', () => {
  it('uses the Redis that answers, else starts one of its own, which stop() ends', async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    expect(await redisAnswers(nobody)).toBe(false);
    const started = await ensureRedis({}, { defaultUrl: nobody });
    expect(started.stop).toBeTypeOf('function');
    stops.push(started.stop!);
    expect(started.url).not.toBe(nobody);
    expect(await redisAnswers(started.url)).toBe(true);

    // A Redis that answers is used as it is, named by the variable or as the default.
    expect(await ensureRedis({ [REDIS_URL_VARIABLE]: started.url }, { defaultUrl: nobody })).toEqual({ url: started.url, stop: undefined });
    expect(await ensureRedis({}, { defaultUrl: started.url })).toEqual({ url: started.url, stop: undefined });

    started.stop!();
    await expect.poll(() => redisAnswers(started.url), { timeout: 10_000 }).toBe(false);
  });

  it('refuses a HERALD_TEST_REDIS_URL where nothing answers, rather than test against another', async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    await expect(ensureRedis({ [REDIS_URL_VARIABLE]: nobody })).rejects.toThrow(
      `${REDIS_URL_VARIABLE}=${nobody}, but no Redis answers there: start it, or unset ${REDIS_URL_VARIABLE}`,
    );
  });
});

describe('ensureNats', () => {
  it('uses the NATS with JetStream that answers, else starts one of its own, which stop() ends', async () => {
    const nobody = `nats://127.0.0.1:${await freePort()}`;
    expect(await natsAnswers(nobody)).toBe(false);
    const started = await ensureNats({}, { defaultUrl: nobody });
    expect(started.stop).toBeTypeOf('function');
    stops.push(started.stop);
    expect(started.url).not.toBe(nobody);
    expect(await natsAnswers(started.url)).toBe(true);

    expect(await ensureNats({ [NATS_URL_VARIABLE]: started.url }, { defaultUrl: nobody })).toEqual({ url: started.url, stop: undefined });
    expect(await ensureNats({}, { defaultUrl: started.url })).toEqual({ url: started.url, stop: undefined });

    started.stop!();
    await expect.poll(() => natsAnswers(started.url), { timeout: 10_000 }).toBe(false);
  });

  it('refuses a HERALD_TEST_NATS_URL where nothing answers, and a Redis is no NATS', async () => {
    const nobody = `nats://127.0.0.1:${await freePort()}`;
    await expect(ensureNats({ [NATS_URL_VARIABLE]: nobody })).rejects.toThrow(
      `${NATS_URL_VARIABLE}=${nobody}, but no NATS with JetStream answers there: start one (nats-server -js), or unset ${NATS_URL_VARIABLE}`,
    );
    const redisPort = new URL(process.env[REDIS_URL_VARIABLE] ?? 'redis://127.0.0.1:6379').port || '6379';
    expect(await natsAnswers(`nats://127.0.0.1:${redisPort}`)).toBe(false);
  });
});
