import { Agent, request } from 'node:http';
import { nowUs } from './clock.mjs';
import { benchData } from './payload.mjs';

/** A paced message counts as late when it leaves more than this after its due time (µs). */
const LATE_US = 5000;

/**
 * Publishes with `POST /api/publish` on one node over keep-alive connections, at most `inFlight`
 * requests awaiting their answer. Each message's data carries its send time (`t`, µs on the
 * machine's monotonic clock, read just before the request is written) so the load generators on
 * the same machine can compute publish→deliver latency. Every published message goes through the
 * engine (the Redis script) before any node, the publishing one included, delivers it.
 */
export class HttpPublisher {
  #url;
  #channel;
  #inFlightMax;
  #agent;
  #seq = 0;

  constructor(nodeUrl, channel, inFlight) {
    this.#url = new URL('/api/publish', nodeUrl);
    this.#channel = channel;
    this.#inFlightMax = inFlight;
    this.#agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  }

  #post(onDone) {
    const body = JSON.stringify({ channel: this.#channel, data: benchData(this.#seq++) });
    const req = request(this.#url, {
      method: 'POST',
      agent: this.#agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    });
    req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => onDone(res.statusCode === 200 ? null : `HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
      res.on('error', (error) => onDone(error.message));
    });
    req.on('error', (error) => onDone(error.message));
    req.end(body);
  }

  /**
   * Publishes until `durationMs` has passed or `count` messages went out, in one of two modes:
   *
   * - `rate`: `rate` messages per second, open loop (a message falls due on schedule whatever the
   *   answers to earlier ones; it waits only when `inFlight` requests are outstanding).
   * - `max`: as fast as `room(sent)` (the flow-control window: messages that may still be sent) and
   *   `inFlight` allow.
   *
   * Resolves once every request is answered, with `{published, sent, failed, lastError, late,
   * firstUs, lastUs, waitedUs, cpuUs}`: `published` counts the 200 answers (what subscribers must
   * receive), `late` paced messages that left over 5 ms after their due time, `waitedUs` the time
   * `max` spent with no room.
   */
  run({ mode, rate = 0, durationMs = Infinity, count = Infinity, room = () => Infinity }) {
    return new Promise((resolve) => {
      const cpu = process.cpuUsage();
      const startUs = nowUs();
      const endUs = startUs + durationMs * 1000;
      let sent = 0;
      let published = 0;
      let failed = 0;
      let lastError;
      let inFlight = 0;
      let late = 0;
      let waitedUs = 0;
      let lastUs = startUs;
      let stopped = false;
      let timer;

      const finishIfDone = () => {
        if (!stopped || inFlight > 0) return;
        const used = process.cpuUsage(cpu);
        resolve({ published, sent, failed, lastError, late, firstUs: startUs, lastUs, waitedUs, cpuUs: used.user + used.system });
      };
      const onDone = (error) => {
        inFlight--;
        if (error === null) published++;
        else {
          failed++;
          lastError = error;
        }
        if (mode === 'max') pumpMax();
        finishIfDone();
      };
      const send = () => {
        inFlight++;
        sent++;
        lastUs = nowUs();
        this.#post(onDone);
      };
      const stop = () => {
        stopped = true;
        clearTimeout(timer);
        finishIfDone();
      };

      const tickRate = () => {
        const now = nowUs();
        if (now >= endUs || sent >= count) return stop();
        const due = Math.min(count, Math.floor((rate * (now - startUs)) / 1e6) + 1);
        while (sent < due && inFlight < this.#inFlightMax) {
          const dueUs = startUs + (sent * 1e6) / rate;
          if (now - dueUs > LATE_US) late++;
          send();
        }
        timer = setTimeout(tickRate, 1);
      };
      let waitingSince;
      const pumpMax = () => {
        if (stopped) return;
        const now = nowUs();
        if (now >= endUs || sent >= count) {
          if (waitingSince !== undefined) waitedUs += now - waitingSince;
          return stop();
        }
        while (inFlight < this.#inFlightMax && sent < count && room(sent) > 0) send();
        const full = room(sent) <= 0;
        if (full && waitingSince === undefined) waitingSince = now;
        else if (!full && waitingSince !== undefined) {
          waitedUs += now - waitingSince;
          waitingSince = undefined;
        }
      };
      if (mode === 'rate') tickRate();
      else {
        // Deliveries open the window while no answer arrives: look every millisecond too.
        const poll = () => {
          pumpMax();
          if (!stopped) timer = setTimeout(poll, 1);
        };
        poll();
      }
    });
  }

  close() {
    this.#agent.destroy();
  }
}
