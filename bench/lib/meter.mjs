import { nowUs } from './clock.mjs';
import { Histogram } from './histogram.mjs';
import { MARK } from './payload.mjs';

const ZERO = 0x30;
const NINE = 0x39;

/**
 * What one client process received: a message count, the time of the last message and, for the
 * sampled connections only, a publish→receive latency histogram. Counting looks for the timestamp
 * marker in the raw bytes, so no transport's client pays for a JSON parse.
 */
export class Meter {
  received = 0;
  lastUs = 0;
  closed = 0;
  /** Polling only: responses received (each carries one or more messages). */
  responses = 0;
  histogram = new Histogram();
  #cpu = process.cpuUsage();
  #since = performance.now();
  #progress;

  /** `progress` (a {@link ProgressSender}) is told the running count. */
  constructor(progress) {
    this.#progress = progress;
  }

  /** Counts the messages in `buf` (whole messages only) and, when `sampled`, records their latency. */
  scan(buf, sampled) {
    let at = buf.indexOf(MARK);
    if (at === -1) return;
    const now = nowUs();
    this.lastUs = now;
    while (at !== -1) {
      this.received++;
      at += MARK.length;
      if (sampled) {
        let t = 0;
        for (let c = buf[at]; c >= ZERO && c <= NINE; c = buf[++at]) t = t * 10 + (c - ZERO);
        this.histogram.record(now - t);
      }
      at = buf.indexOf(MARK, at);
    }
    this.#progress?.maybeSend(this.received, now);
  }

  /** Counts one message whose timestamp the client library already decoded. */
  hit(t, sampled) {
    const now = nowUs();
    this.lastUs = now;
    this.received++;
    if (sampled) this.histogram.record(now - t);
    this.#progress?.maybeSend(this.received, now);
  }

  /** Starts phase `phase` from zero. */
  reset(phase) {
    this.#progress?.begin(phase);
    this.#cpu = process.cpuUsage();
    this.#since = performance.now();
    this.received = 0;
    this.responses = 0;
    this.lastUs = 0;
    this.histogram = new Histogram();
  }

  /** Counters since the last reset; `cpu` is this process's CPU time over wall time (1 = one core). */
  report() {
    const used = process.cpuUsage(this.#cpu);
    const cpu = (used.user + used.system) / 1000 / (performance.now() - this.#since);
    return {
      received: this.received,
      responses: this.responses,
      lastUs: this.lastUs,
      closed: this.closed,
      cpu,
      histogram: this.histogram.toJSON(),
    };
  }
}
