import { connect as connectTcp } from 'node:net';

// A few dozen lines of RESP2 instead of a Redis client library: the benchmark sends a handful of
// commands (INFO, PUBSUB NUMSUB, DEL, MONITOR) and must not add a client's own traffic (HELLO,
// CLIENT SETINFO, pings) to the counts it reads.

/** Splits `redis://[:password@]host:port[/db]`. */
export function parseRedisUrl(url) {
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
  };
}

function encode(args) {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(String(arg))}\r\n${arg}\r\n`;
  return out;
}

/**
 * Parses one RESP2 reply at `at` of `buf`; returns `{value, end}` or undefined when the reply is not
 * complete yet. Error replies become Error values.
 */
function parseReply(buf, at) {
  const eol = buf.indexOf('\r\n', at);
  if (eol === -1) return undefined;
  const kind = String.fromCharCode(buf[at]);
  const line = buf.toString('utf8', at + 1, eol);
  switch (kind) {
    case '+':
      return { value: line, end: eol + 2 };
    case '-':
      return { value: new Error(line), end: eol + 2 };
    case ':':
      return { value: Number(line), end: eol + 2 };
    case '$': {
      const length = Number(line);
      if (length === -1) return { value: null, end: eol + 2 };
      if (buf.length < eol + 2 + length + 2) return undefined;
      return { value: buf.toString('utf8', eol + 2, eol + 2 + length), end: eol + 2 + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count === -1) return { value: null, end: eol + 2 };
      const items = [];
      let end = eol + 2;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, end);
        if (item === undefined) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(kind)}`);
  }
}

/** One plain connection: commands answered in order. `onPush` receives replies nobody waits for (MONITOR lines). */
export class RedisConnection {
  #socket;
  #buffer = Buffer.alloc(0);
  #waiting = [];
  #onPush;
  #closed;

  static async open(url, { onPush } = {}) {
    const { host, port, password, username, db } = parseRedisUrl(url);
    const connection = new RedisConnection();
    connection.#onPush = onPush;
    await connection.#connect(host, port);
    if (password !== undefined) await connection.command(username ? ['AUTH', username, password] : ['AUTH', password]);
    if (db !== 0) await connection.command(['SELECT', db]);
    return connection;
  }

  #connect(host, port) {
    return new Promise((resolve, reject) => {
      const socket = connectTcp({ host, port });
      this.#socket = socket;
      socket.setNoDelay(true);
      socket.once('connect', resolve);
      socket.once('error', reject);
      socket.on('error', () => {});
      socket.on('data', (chunk) => this.#receive(chunk));
      this.#closed = new Promise((done) => socket.once('close', done));
      socket.once('close', () => {
        for (const waiter of this.#waiting) waiter.reject(new Error(`connection to Redis at ${host}:${port} closed`));
        this.#waiting = [];
      });
    });
  }

  /** The connection's local port: how MONITOR lines name this client (`127.0.0.1:<port>`). */
  get localPort() {
    return this.#socket.localPort;
  }

  #receive(chunk) {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let at = 0;
    for (;;) {
      const reply = parseReply(this.#buffer, at);
      if (reply === undefined) break;
      at = reply.end;
      const waiter = this.#waiting.shift();
      if (waiter === undefined) this.#onPush?.(reply.value);
      else if (reply.value instanceof Error) waiter.reject(reply.value);
      else waiter.resolve(reply.value);
    }
    this.#buffer = at === this.#buffer.length ? Buffer.alloc(0) : this.#buffer.subarray(at);
  }

  /** Sends one command; resolves with its reply, rejects on an error reply or after `timeoutMs`. */
  command(args, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Redis ${args[0]} timed out`)), timeoutMs);
      this.#waiting.push({
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#socket.write(encode(args));
    });
  }

  async close() {
    this.#socket.destroy();
    await this.#closed;
  }
}

/** `INFO` text as `{section: {field: value}}`, numbers where they parse. */
export function parseInfo(text) {
  const out = {};
  let section;
  for (const line of text.split('\r\n')) {
    if (line.startsWith('# ')) {
      section = line.slice(2).toLowerCase();
      out[section] = {};
    } else if (section !== undefined && line.includes(':')) {
      const at = line.indexOf(':');
      const value = line.slice(at + 1);
      out[section][line.slice(0, at)] = value.includes('=') || value === '' || Number.isNaN(Number(value)) ? value : Number(value);
    }
  }
  return out;
}

/** Calls per command from the commandstats section: `{evalsha: 12, hincrby: 12, …}`. */
export function commandCalls(info) {
  const calls = {};
  for (const [field, value] of Object.entries(info.commandstats ?? {})) {
    const match = /(?:^|,)calls=(\d+)/.exec(String(value));
    if (match !== null) calls[field.replace(/^cmdstat_/, '')] = Number(match[1]);
  }
  return calls;
}

/** What one `INFO stats commandstats cpu server` reading holds that the benchmark uses. */
export async function readInfo(connection) {
  const info = parseInfo(await connection.command(['INFO', 'stats', 'commandstats', 'cpu', 'server']));
  return {
    totalCommands: info.stats?.total_commands_processed ?? 0,
    netInputBytes: info.stats?.total_net_input_bytes ?? 0,
    netOutputBytes: info.stats?.total_net_output_bytes ?? 0,
    cpuSec: (info.cpu?.used_cpu_user ?? 0) + (info.cpu?.used_cpu_sys ?? 0),
    pid: info.server?.process_id,
    version: info.server?.redis_version,
    calls: commandCalls(info),
  };
}

/** The difference of two {@link readInfo} readings. */
export function infoDelta(before, after) {
  const calls = {};
  for (const [name, n] of Object.entries(after.calls)) {
    const d = n - (before.calls[name] ?? 0);
    if (d > 0) calls[name] = d;
  }
  return {
    totalCommands: after.totalCommands - before.totalCommands,
    netInputBytes: after.netInputBytes - before.netInputBytes,
    netOutputBytes: after.netOutputBytes - before.netOutputBytes,
    cpuSec: after.cpuSec - before.cpuSec,
    calls,
  };
}

/**
 * Splits one MONITOR line (`1700000000.123456 [0 127.0.0.1:5000] "EVALSHA" "ab…" "2" …`) into the
 * client (`127.0.0.1:5000`, or `lua` for a command run by a script) and the unquoted arguments.
 */
export function parseMonitorLine(line) {
  const open = line.indexOf('[');
  const close = line.indexOf(']', open);
  if (open === -1 || close === -1) return undefined;
  const client = line.slice(open + 1, close).split(' ')[1] ?? '';
  const args = [];
  let i = close + 1;
  while (i < line.length) {
    const quote = line.indexOf('"', i);
    if (quote === -1) break;
    let text = '';
    let j = quote + 1;
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] !== '\\') {
        text += line[j];
        continue;
      }
      const next = line[++j];
      if (next === 'x') {
        text += String.fromCharCode(parseInt(line.slice(j + 1, j + 3), 16));
        j += 2;
      } else {
        text += next === 'n' ? '\n' : next === 'r' ? '\r' : next === 't' ? '\t' : next === 'a' ? '\x07' : next === 'b' ? '\b' : next;
      }
    }
    args.push(text);
    i = j + 1;
  }
  return { client, args };
}

/**
 * Records every command Redis runs between two markers, through a MONITOR connection: `start()`
 * attaches, `lines()` returns what was seen. MONITOR shows a script's command before the commands
 * it runs, which come as client `lua`.
 */
export class MonitorRecorder {
  #connection;
  #lines = [];

  static async open(url) {
    const recorder = new MonitorRecorder();
    recorder.#connection = await RedisConnection.open(url, { onPush: (line) => recorder.#lines.push(line) });
    await recorder.#connection.command(['MONITOR']);
    return recorder;
  }

  /** The lines seen so far (strings, unparsed). */
  lines() {
    return this.#lines;
  }

  close() {
    return this.#connection.close();
  }
}
