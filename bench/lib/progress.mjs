import { createSocket } from 'node:dgram';
import { nowUs } from './clock.mjs';

/**
 * Flow control for the throughput phase: each client process sends its running message count to the
 * server process in a UDP datagram on 127.0.0.1 (at most every 2 ms), so the publisher can keep a
 * bounded number of messages in flight whatever the transport, with no round trip through run.mjs.
 * Datagram: client index (u32), phase (u32), received (f64).
 */
export class ProgressReceiver {
  #socket = createSocket('udp4');
  #counts = [];
  #phase = -1;

  /** Binds a free port of 127.0.0.1 and resolves with it. */
  listen() {
    this.#socket.on('message', (msg) => {
      if (msg.length !== 16 || msg.readUInt32LE(4) !== this.#phase) return;
      const index = msg.readUInt32LE(0);
      // Datagrams may arrive out of order; a count never goes down within a phase.
      this.#counts[index] = Math.max(this.#counts[index] ?? 0, msg.readDoubleLE(8));
    });
    return new Promise((resolve) => this.#socket.bind(0, '127.0.0.1', () => resolve(this.#socket.address().port)));
  }

  /** Starts counting a new phase from zero. */
  begin(phase) {
    this.#phase = phase;
    this.#counts = [];
  }

  /** Messages received by all clients in the current phase, as last reported. */
  get received() {
    let sum = 0;
    for (const n of this.#counts) sum += n ?? 0;
    return sum;
  }
}

const INTERVAL_US = 2000;

export class ProgressSender {
  received = 0;
  #socket = createSocket('udp4');
  #buffer = Buffer.alloc(16);
  #port;
  #sentUs = 0;
  #lastSent = -1;

  constructor(port, index) {
    this.#port = port;
    this.#buffer.writeUInt32LE(index, 0);
    this.#buffer.writeUInt32LE(0xffffffff, 4);
    // Also on a timer, so the last count of a phase arrives even when no message follows it.
    setInterval(() => this.#send(this.received), 5).unref();
  }

  begin(phase) {
    this.#buffer.writeUInt32LE(phase, 4);
    this.received = 0;
    this.#lastSent = -1;
  }

  /** Called with the clock already read by the caller; sends at most every 2 ms. */
  maybeSend(received, now = nowUs()) {
    this.received = received;
    if (now - this.#sentUs >= INTERVAL_US) {
      this.#sentUs = now;
      this.#send(received);
    }
  }

  #send(received) {
    if (received === this.#lastSent) return;
    this.#lastSent = received;
    // Each send gets its own copy: the datagram is queued asynchronously.
    const msg = Buffer.from(this.#buffer);
    msg.writeDoubleLE(received, 8);
    this.#socket.send(msg, this.#port, '127.0.0.1');
  }
}
