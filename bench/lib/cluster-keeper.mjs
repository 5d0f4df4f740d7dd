// Runs one command (argv) as this forked process's child and kills it by its pid when the parent
// goes away, so a redis-server started for the benchmark cannot outlive it. Sends {pid} once
// started and {exit} when the command ends.
import { spawn } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
const kill = () => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};
child.once('spawn', () => process.send?.({ pid: child.pid }));
child.once('error', (error) => {
  process.send?.({ error: error.message });
  process.exit(1);
});
child.once('exit', (code, signal) => {
  process.send?.({ exit: signal ?? code });
  process.exit(0);
});
process.on('disconnect', () => {
  kill();
  process.exit(0);
});
process.on('SIGTERM', () => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
});
process.on('SIGINT', () => {});
setTimeout(
  () => {
    kill();
    process.exit(3);
  },
  Number(process.env.BENCH_LIFETIME_MS ?? 6 * 60 * 60_000),
).unref();
