import { nowUs } from './clock.mjs';
import { benchData } from './payload.mjs';

/**
 * Publishes for `durationMs`, from inside the server process, in one of two modes:
 *
 * - `rate`: `rate` messages per second on a 1 ms timer (messages that fall due while the server is
 *   busy go out together on the next tick, as they would from real publishers).
 * - `max`: as fast as the server sustains: up to `burst` messages per event-loop turn, as many as
 *   `room(published)` allows (the flow-control window); with no room it waits 1 ms and asks again.
 *
 * Resolves with the count published, the number of turns that published (`sends`), the first and last publish times (µs, monotonic clock shared
 * with the clients), the server's CPU time and the time spent waiting for room.
 */
export function runPublisher({ publish, room, mode, rate, burst, durationMs }) {
  return new Promise((resolve) => {
    let seq = 0;
    let sends = 0;
    let waitedUs = 0;
    const cpu = process.cpuUsage();
    const startUs = nowUs();
    const endUs = startUs + durationMs * 1000;
    let lastUs = startUs;

    const finish = () => {
      const used = process.cpuUsage(cpu);
      resolve({ published: seq, sends, firstUs: startUs, lastUs, cpuUs: used.user + used.system, waitedUs });
    };
    const send = (n) => {
      sends++;
      for (let i = 0; i < n; i++) publish(benchData(seq++));
      lastUs = nowUs();
    };
    const tickRate = () => {
      const now = nowUs();
      if (now >= endUs) return finish();
      const due = Math.floor((rate * (now - startUs)) / 1e6) + 1 - seq;
      if (due > 0) send(due);
      setTimeout(tickRate, 1);
    };
    const tickMax = () => {
      const now = nowUs();
      if (now >= endUs) return finish();
      const n = Math.min(burst, room(seq));
      if (n > 0) {
        send(n);
        setImmediate(tickMax);
      } else {
        setTimeout(() => {
          waitedUs += nowUs() - now;
          tickMax();
        }, 1);
      }
    };
    if (mode === 'rate') tickRate();
    else tickMax();
  });
}
