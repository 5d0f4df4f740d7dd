import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * The local ports of process `pid`'s TCP connections to any of `serverPorts` on this machine, from
 * /proc: the sockets among its open files, looked up in /proc/<pid>/net/tcp{,6}. NATS's /connz
 * names a client connection's port, so this tells which Herald node a connection belongs to.
 * An empty Set without /proc.
 */
export function natsClientsOf(pid, serverPorts) {
  const inodes = new Set();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match !== null) inodes.add(match[1]);
      } catch {
        // Closed meanwhile.
      }
    }
  } catch {
    return new Set();
  }
  const wanted = new Set(serverPorts);
  const ports = new Set();
  for (const table of ['tcp', 'tcp6']) {
    let text;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || !inodes.has(fields[9])) continue;
      const local = parseInt(fields[1].split(':')[1], 16);
      const remote = parseInt(fields[2].split(':')[1], 16);
      if (wanted.has(remote)) ports.add(local);
    }
  }
  return ports;
}
