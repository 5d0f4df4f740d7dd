import { readdirSync, readFileSync } from 'node:fs';

/** Fields of `/proc/<pid>/stat` after the command (which may hold spaces and parentheses). */
function stat(pid: number): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** Whether `pid` is a live process (a zombie, dead but not yet reaped, counts as gone). Linux only. */
export function isRunning(pid: number): boolean {
  const fields = stat(pid);
  return fields !== undefined && fields[0] !== 'Z';
}

/** Live processes of process group `pgid` (zombies excluded). Linux only. */
export function processGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = stat(Number(entry));
    // After the command: state, ppid, pgrp.
    if (fields !== undefined && fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(entry));
  }
  return members;
}
