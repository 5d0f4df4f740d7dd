import { cpuSeconds } from './cluster-processes.mjs';
import { infoDelta, readInfo, RedisConnection } from './cluster-redis.mjs';

// What an engine's servers say they did: Redis INFO (stats, commandstats, cpu) per server summed by
// role, NATS monitoring endpoints (/varz, /connz, /jsz) per server. Read before and after a phase.

const ROLES = ['primary', 'replica', 'sentinel'];

/** CPU seconds used so far by the engine's servers: from /proc when they run here, else Redis INFO. */
export async function engineCpuSeconds(engine) {
  if (engine.servers.every((s) => s.pid !== undefined)) {
    let sum = 0;
    for (const server of engine.servers) sum += cpuSeconds(server.pid) ?? 0;
    return sum;
  }
  let sum = 0;
  for (const server of engine.servers) {
    const connection = await RedisConnection.open(server.url);
    try {
      sum += (await readInfo(connection)).cpuSec;
    } finally {
      await connection.close();
    }
  }
  return sum;
}

/** INFO of every server of a Redis engine: `{primary: [reading…], replica: […], sentinel: […]}`. */
export async function readRedisInfos(engine) {
  const out = {};
  for (const server of engine.servers) {
    const connection = await RedisConnection.open(server.url);
    try {
      (out[server.role] ??= []).push(await readInfo(connection));
    } finally {
      await connection.close();
    }
  }
  return out;
}

/**
 * The difference of two {@link readRedisInfos} readings, summed per role: `{primary: {totalCommands,
 * netInputBytes, netOutputBytes, cpuSec, calls: {command: n}, servers}, …}`.
 */
export function redisInfosDelta(before, after) {
  const out = {};
  for (const role of ROLES) {
    if (after[role] === undefined) continue;
    const sum = { totalCommands: 0, netInputBytes: 0, netOutputBytes: 0, cpuSec: 0, calls: {}, servers: after[role].length };
    after[role].forEach((reading, i) => {
      const d = infoDelta(before[role][i], reading);
      sum.totalCommands += d.totalCommands;
      sum.netInputBytes += d.netInputBytes;
      sum.netOutputBytes += d.netOutputBytes;
      sum.cpuSec += d.cpuSec;
      for (const [name, n] of Object.entries(d.calls)) sum.calls[name] = (sum.calls[name] ?? 0) + n;
    });
    out[role] = sum;
  }
  return out;
}

async function monitoring(port, path) {
  const answer = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  if (!answer.ok) throw new Error(`nats-server monitoring ${path} on :${port} answered ${answer.status}`);
  return answer.json();
}

/**
 * Every NATS server's counters: `/varz` (in_msgs, out_msgs, in_bytes, out_bytes: every message the
 * server received or sent, on client and route connections), `/jsz` (api.total: JetStream API
 * requests it served) and `/connz` (each client connection's name and in/out messages).
 */
export async function readNatsCounters(engine) {
  const servers = [];
  for (const server of engine.servers) {
    const [varz, jsz, connz] = await Promise.all([
      monitoring(server.monitorPort, '/varz'),
      monitoring(server.monitorPort, '/jsz'),
      monitoring(server.monitorPort, '/connz?limit=4096'),
    ]);
    servers.push({
      port: server.port,
      inMsgs: varz.in_msgs,
      outMsgs: varz.out_msgs,
      inBytes: varz.in_bytes,
      outBytes: varz.out_bytes,
      jsApi: jsz.api?.total ?? 0,
      connections: (connz.connections ?? []).map((c) => ({
        cid: c.cid,
        name: c.name ?? '',
        port: c.port,
        inMsgs: c.in_msgs,
        outMsgs: c.out_msgs,
      })),
    });
  }
  return servers;
}

/**
 * The difference of two {@link readNatsCounters} readings: server totals summed over the servers,
 * and per client connection that exists in `after` (`{server, cid, name, clientPort, inMsgs,
 * outMsgs}`; a connection opened in between counts from 0). `inMsgs` of a connection are messages
 * the client sent to NATS (publishes and requests), `outMsgs` those NATS delivered to it.
 */
export function natsCountersDelta(before, after) {
  const total = { inMsgs: 0, outMsgs: 0, inBytes: 0, outBytes: 0, jsApi: 0 };
  const connections = [];
  after.forEach((server, i) => {
    const was = before[i];
    total.inMsgs += server.inMsgs - was.inMsgs;
    total.outMsgs += server.outMsgs - was.outMsgs;
    total.inBytes += server.inBytes - was.inBytes;
    total.outBytes += server.outBytes - was.outBytes;
    total.jsApi += server.jsApi - was.jsApi;
    for (const c of server.connections) {
      const old = was.connections.find((o) => o.cid === c.cid);
      connections.push({
        server: server.port,
        cid: c.cid,
        name: c.name,
        clientPort: c.port,
        inMsgs: c.inMsgs - (old?.inMsgs ?? 0),
        outMsgs: c.outMsgs - (old?.outMsgs ?? 0),
      });
    }
  });
  return { total, connections };
}
