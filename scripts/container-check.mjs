#!/usr/bin/env node
// Builds the container image from the Dockerfile and checks it for real, with podman:
//
//  1. the image: user 10001, a HEALTHCHECK on /livez;
//  2. one container, read-only root filesystem, PORT=8080: the health check passes, it runs as
//     10001 and cannot write to /, it listens on 8080 on every interface, and a message published
//     over HTTP arrives on an SSE stream and in the history, through the published port;
//  3. the SQLite engine (a native module) in the image, its file on a tmpfs;
//  4. compose.yaml (three hubs on Redis behind nginx, production profile): through nginx, every
//     SSE subscriber gets every message, with subscribers and publishes spread over the nodes, so
//     that messages published on one node reach subscribers on another.
//
// Everything it starts (containers, the compose project's network and volume) is removed at the
// end, also on failure or Ctrl-C; the images are kept for the next run (`--rmi` removes the ones it
// tagged). Needs root, podman and podman-compose (Debian: apt-get install podman podman-compose
// debootstrap). Where no registry of base images is reachable it makes the build stage's base with
// scripts/container-base.sh, and stand-ins for the redis and nginx images from Debian's packages;
// set HERALD_NODE_IMAGE, REDIS_IMAGE, NGINX_IMAGE to use others.
//
// Usage: node scripts/container-check.mjs [--rmi]      (about 5 minutes the first time)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './prerequisites.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUN = `herald-check-${process.pid}`;
const IMAGE = 'localhost/herald:check';
const BASE_IMAGE = 'localhost/herald-node-build:20';
const STAND_INS = { redis: 'localhost/herald-check-redis:bookworm', nginx: 'localhost/herald-check-nginx:bookworm' };
const removeImages = process.argv.includes('--rmi');
const work = mkdtempSync(join(tmpdir(), 'herald-container-check-'));
const cleanups = [];
const started = Date.now();

const log = (message) => process.stdout.write(`container-check [${((Date.now() - started) / 1000).toFixed(0)} s] ${message}\n`);

/** Runs a command to its end; throws with its output when it fails. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) throw result.error;
  if (result.status !== 0 && options.check !== false)
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** podman's output without the systemd timer complaints of a host with no systemd (health checks run by hand here). */
const quiet = (text) =>
  text
    .split('\n')
    .filter((line) => !line.includes('systemd'))
    .join('\n');

const podman = (...args) => run('podman', args);

/** Polls `check` every 250 ms until it returns a truthy value; throws naming `what` after `timeoutMs`. */
async function until(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  log(`ok: ${message}`);
}

/**
 * A host where the default runtime (crun) or podman's default ulimits cannot run a container (a
 * cgroup v1/v2 hybrid, no CAP_SYS_RESOURCE: both the case on this project's build machine) gets a
 * containers.conf for this run only (builds too): runc, and limits within this process's own.
 */
function adaptToHost(image) {
  const probe = run('podman', ['run', '--rm', image, 'node', '-e', ''], { check: false });
  if (probe.status === 0) return;
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const files = Math.min(Number(/^Max open files\s+\S+\s+(\d+)/m.exec(limits)?.[1] ?? 1024), 65_536);
  const conf = join(work, 'containers.conf');
  const runtime = spawnSync('runc', ['--version']).status === 0 ? 'runc' : 'crun';
  writeFileSync(
    conf,
    `[containers]\ndefault_ulimits = ["nofile=${files}:${files}", "nproc=4096:4096"]\n[engine]\nruntime = "${runtime}"\n`,
  );
  process.env.CONTAINERS_CONF = conf;
  log(`podman run failed with the defaults here (${quiet(probe.stderr).trim().split('\n').at(-1)}); using ${conf}`);
  run('podman', ['run', '--rm', image, 'node', '-e', '']);
}

/** An SSE stream read as text; `text()` is everything received so far. */
function sseStream(url, headers = {}) {
  const controller = new AbortController();
  let received = '';
  const opened = fetch(url, { headers, signal: controller.signal }).then(async (res) => {
    if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`);
    const decoder = new TextDecoder();
    (async () => {
      for await (const chunk of res.body) received += decoder.decode(chunk, { stream: true });
    })().catch(() => {});
  });
  return { opened, text: () => received, close: () => controller.abort() };
}

/** `GET path` from inside a container (no port of its is published), with node's fetch. */
function fetchInside(container, path, headers = {}) {
  const script = `fetch('http://127.0.0.1:3000${path}',{headers:${JSON.stringify(headers)}}).then(async r=>{process.stdout.write(await r.text())})`;
  return podman('exec', container, '/usr/local/bin/node', '-e', script).stdout;
}

/** A sample's value from Prometheus text (`name{labels} value`), 0 when absent. */
function metric(text, name, labels = '') {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

async function buildImages() {
  let nodeImage = process.env.HERALD_NODE_IMAGE;
  if (nodeImage === undefined) {
    log(`making the build stage's base ${BASE_IMAGE} (scripts/container-base.sh; kept for the next run)`);
    run('sh', ['scripts/container-base.sh'], { stdio: 'inherit' });
    nodeImage = BASE_IMAGE;
  }
  adaptToHost(nodeImage);
  log(`podman build --format docker -t ${IMAGE} (FROM ${nodeImage})`);
  podman('build', '--format', 'docker', '--build-arg', `NODE_IMAGE=${nodeImage}`, '-t', IMAGE, '.');
  const size = Number(podman('image', 'inspect', IMAGE, '--format', '{{.Size}}').stdout.trim());
  log(`image ${IMAGE}: ${(size / 1e6).toFixed(0)} MB`);
  return size;
}

function checkImageConfig() {
  const config = JSON.parse(podman('image', 'inspect', IMAGE, '--format', '{{json .Config}}').stdout);
  const healthcheck = JSON.parse(podman('image', 'inspect', IMAGE, '--format', '{{json .HealthCheck}}').stdout);
  assert(config.User === '10001:10001', `the image runs as 10001:10001 (User: ${config.User})`);
  assert(
    JSON.stringify(healthcheck?.Test) === JSON.stringify(['CMD', '/usr/local/bin/node', '/app/container/healthcheck.mjs']),
    `the image has a HEALTHCHECK (${JSON.stringify(healthcheck?.Test)}), which GETs /livez`,
  );
}

async function checkSingleContainer() {
  const name = `${RUN}-single`;
  const port = await freePort();
  log(`podman run --read-only -e PORT=8080 -p 127.0.0.1:${port}:8080 ${IMAGE}`);
  cleanups.push(() => run('podman', ['rm', '-f', '-t', '0', name], { check: false }));
  podman('run', '-d', '--read-only', '--name', name, '-e', 'PORT=8080', '-p', `127.0.0.1:${port}:8080`, IMAGE);
  await until('the container health check (podman healthcheck run) to pass', () => {
    const result = run('podman', ['healthcheck', 'run', name], { check: false });
    return result.status === 0;
  });
  assert(podman('inspect', name, '--format', '{{.State.Health.Status}}').stdout.trim() === 'healthy', 'the health check passes: healthy');
  // The listening socket, from the container's /proc/net/tcp: 0.0.0.0:8080 (1F90), state LISTEN (0A).
  const sockets = podman(
    'exec',
    name,
    '/usr/local/bin/node',
    '-e',
    "process.stdout.write(require('fs').readFileSync('/proc/net/tcp','utf8'))",
  ).stdout;
  assert(
    /^\s*\d+: 00000000:1F90 00000000:0000 0A /m.test(sockets),
    'PORT=8080 is honoured: the hub listens on 0.0.0.0:8080 in the container',
  );
  const identity = podman(
    'exec',
    name,
    '/usr/local/bin/node',
    '-e',
    "let w='written';try{require('fs').writeFileSync('/app/x','1')}catch(e){w=e.code}process.stdout.write(JSON.stringify({uid:process.getuid(),gid:process.getgid(),write:w}))",
  ).stdout;
  assert(identity === JSON.stringify({ uid: 10001, gid: 10001, write: 'EROFS' }), `runs as 10001:10001 on a read-only root (${identity})`);

  const url = `http://127.0.0.1:${port}`;
  for (const path of ['/livez', '/readyz']) {
    const res = await fetch(`${url}${path}`);
    assert(res.status === 200 && (await res.text()) === '{"status":"ok"}', `GET ${path} through the published port: 200`);
  }
  const stream = sseStream(`${url}/events?channel=check`);
  cleanups.push(() => stream.close());
  await stream.opened;
  await until('the SSE stream to be ready', () => stream.text().includes('event: ready'), 10_000);
  const marker = `hello-${randomBytes(6).toString('hex')}`;
  const published = await fetch(`${url}/api/publish`, { method: 'POST', body: JSON.stringify({ channel: 'check', data: marker }) });
  const ack = await published.json();
  assert(published.status === 200 && ack.offset === 1, `POST /api/publish: 200 ${JSON.stringify(ack)}`);
  await until('the message on the SSE stream', () => stream.text().includes(marker), 10_000);
  assert(true, 'the message arrived on the SSE stream');
  stream.close();
  const history = await (await fetch(`${url}/api/history?channel=check`)).json();
  assert(history.messages?.[0]?.data === marker, 'GET /api/history has it');
  run('podman', ['rm', '-f', '-t', '10', name]);
}

/** The SQLite engine (a native module) loads in the image, with its file on a writable tmpfs. */
async function checkSqlite() {
  const name = `${RUN}-sqlite`;
  const port = await freePort();
  cleanups.push(() => run('podman', ['rm', '-f', '-t', '0', name], { check: false }));
  podman(
    'run',
    '-d',
    '--read-only',
    '--tmpfs',
    '/data:mode=1777',
    '--name',
    name,
    '-p',
    `127.0.0.1:${port}:3000`,
    IMAGE,
    'start',
    '--host',
    '0.0.0.0',
    '--engine',
    'sqlite:/data/herald.db',
  );
  const url = `http://127.0.0.1:${port}`;
  await until('the SQLite hub to be ready', async () => (await fetch(`${url}/readyz`)).status === 200, 30_000);
  const ack = await (await fetch(`${url}/api/publish`, { method: 'POST', body: '{"channel":"durable","data":"kept"}' })).json();
  const history = await (await fetch(`${url}/api/history?channel=durable`)).json();
  assert(ack.offset === 1 && history.messages?.[0]?.data === 'kept', 'the SQLite engine runs in the image (file on a tmpfs volume)');
  run('podman', ['rm', '-f', '-t', '10', name]);
}

function standInImages() {
  const images = {};
  for (const [service, variable] of [
    ['redis', 'REDIS_IMAGE'],
    ['nginx', 'NGINX_IMAGE'],
  ]) {
    if (process.env[variable] !== undefined) {
      images[variable] = process.env[variable];
      continue;
    }
    images[variable] = STAND_INS[service];
    if (run('podman', ['image', 'exists', STAND_INS[service]], { check: false }).status === 0) continue;
    // No registry here: the same program from Debian's package, on the build stage's Debian base.
    const install =
      service === 'redis'
        ? 'apt-get install -y --no-install-recommends redis-server && mkdir -p /data'
        : 'apt-get install -y --no-install-recommends nginx-light && rm -f /etc/nginx/sites-enabled/default && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log';
    const cmd = service === 'redis' ? '["redis-server"]' : '["nginx", "-g", "daemon off;"]';
    const containerfile = join(work, `${service}.Containerfile`);
    writeFileSync(
      containerfile,
      `FROM ${process.env.HERALD_NODE_IMAGE ?? BASE_IMAGE}\nRUN apt-get update && ${install} && rm -rf /var/lib/apt/lists/*\n${service === 'redis' ? 'WORKDIR /data\n' : ''}CMD ${cmd}\n`,
    );
    log(`making a stand-in ${STAND_INS[service]} from Debian's ${service} package`);
    run('podman', ['build', '-t', STAND_INS[service], '-f', containerfile, work]);
  }
  return images;
}

async function checkCompose() {
  const images = standInImages();
  const port = await freePort();
  const apiKey = randomBytes(24).toString('hex');
  const env = {
    ...process.env,
    ...images,
    HERALD_IMAGE: IMAGE,
    HERALD_HTTP_PORT: String(port),
    HERALD_AUTH_SECRET: randomBytes(48).toString('base64'),
    HERALD_API_KEYS: apiKey,
  };
  const project = RUN;
  const compose = (...args) => run('podman-compose', ['-p', project, '-f', 'compose.yaml', ...args], { env });
  cleanups.push(() => run('podman-compose', ['-p', project, '-f', 'compose.yaml', 'down', '-v', '-t', '5'], { env, check: false }));
  cleanups.push(() => run('podman', ['volume', 'rm', '-f', `${project}_redis-data`], { check: false }));
  cleanups.push(() => run('podman', ['network', 'rm', '-f', `${project}_default`], { check: false }));
  log(`podman-compose -p ${project} up -d (redis, hub1, hub2, hub3, nginx on 127.0.0.1:${port})`);
  compose('up', '-d');
  const hubs = ['hub1', 'hub2', 'hub3'].map((service) => `${project}_${service}_1`);
  for (const hub of hubs) {
    await until(`${hub}'s health check`, () => run('podman', ['healthcheck', 'run', hub], { check: false }).status === 0);
    await until(`${hub}'s /readyz`, () => fetchInside(hub, '/readyz') === '{"status":"ok"}');
  }
  assert(true, 'the three hubs are healthy and ready (Redis reachable)');
  const url = `http://127.0.0.1:${port}`;
  await until('nginx to answer /readyz', async () => (await fetch(`${url}/readyz`)).status === 200);
  const refused = await fetch(`${url}/api/publish`, { method: 'POST', body: '{"channel":"c","data":1}' });
  assert(refused.status === 401, `production profile: a publish without the API key is refused (${refused.status})`);

  // Three subscribers through nginx (round robin: one per node), then six publishes through nginx.
  const key = { 'X-Herald-Key': apiKey };
  const streams = [];
  for (let i = 0; i < 3; i++) {
    const stream = sseStream(`${url}/events?channel=fanout`, key);
    cleanups.push(() => stream.close());
    await stream.opened;
    await until(`SSE subscriber ${i + 1} to be ready`, () => stream.text().includes('event: ready'), 10_000);
    streams.push(stream);
  }
  const metrics = () => hubs.map((hub) => fetchInside(hub, '/metrics', key));
  const subscribersOn = metrics().map((text) => metric(text, 'herald_connections', 'transport="sse"'));
  const markers = Array.from({ length: 6 }, (_, i) => `fanout-${i}-${randomBytes(4).toString('hex')}`);
  for (const marker of markers) {
    const res = await fetch(`${url}/api/publish`, {
      method: 'POST',
      headers: key,
      body: JSON.stringify({ channel: 'fanout', data: marker }),
    });
    if (res.status !== 200) throw new Error(`publish through nginx answered ${res.status}: ${await res.text()}`);
  }
  const publishesOn = metrics().map((text) => metric(text, 'herald_publishes_total', 'result="stored"'));
  log(`SSE subscribers per node: ${subscribersOn.join(', ')}; publishes stored per node: ${publishesOn.join(', ')}`);
  const crossNode = subscribersOn.some((subs, a) => subs > 0 && publishesOn.some((pubs, b) => b !== a && pubs > 0));
  assert(crossNode, 'some messages were published on a node other than a subscriber’s');
  for (const [i, stream] of streams.entries())
    await until(`subscriber ${i + 1} to get all six messages`, () => markers.every((marker) => stream.text().includes(marker)), 10_000);
  assert(true, 'every subscriber, on whichever node, got all six messages through nginx');
  for (const stream of streams) stream.close();
}

async function cleanup() {
  for (const step of cleanups.splice(0).reverse()) {
    try {
      await step();
    } catch {
      // Keep going: one failed step must not leave the rest behind.
    }
  }
  if (removeImages) run('podman', ['rmi', '-f', IMAGE, ...Object.values(STAND_INS)], { check: false });
  rmSync(work, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().then(() => process.exit(130));
  });

let failed = false;
try {
  for (const tool of ['podman', 'podman-compose']) {
    if (spawnSync(tool, ['--version']).status !== 0)
      throw new Error(`${tool} is missing (Debian: apt-get install podman podman-compose debootstrap)`);
  }
  const size = await buildImages();
  checkImageConfig();
  await checkSingleContainer();
  await checkSqlite();
  await checkCompose();
  log(`passed; image ${IMAGE} is ${(size / 1e6).toFixed(0)} MB`);
} catch (error) {
  failed = true;
  process.stderr.write(`container-check: FAILED: ${error.stack ?? error}\n`);
} finally {
  log('cleaning up');
  await cleanup();
}
process.exit(failed ? 1 : 0);
