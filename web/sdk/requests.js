// Requests in flight, matched to their replies by request id, each failed
// after its timeout. A request marked `resend` survives a lost connection
// and is sent again once the next one is authenticated (sends and message
// operations carry a client_msg_id, so the server answers a repeat with the
// first outcome).

import { errorFromFrame, FlareError } from './codec.js';

export class Requests {
  /**
   * @param {number} timeoutMs default timeout of a request
   * @param {(frame: object) => void} send sends a frame if the connection is ready
   */
  constructor(timeoutMs, send) {
    this.timeoutMs = timeoutMs;
    this.send = send;
    this.pending = new Map();
    this.next = 0;
  }

  /** @returns {Promise<object>} the reply frame */
  start(body, { resend = true, timeoutMs } = {}) {
    const requestId = `r${++this.next}`;
    const frame = { requestId, ...body };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new FlareError('TIMEOUT', `no reply to ${Object.keys(body)[0]} in time`));
      }, timeoutMs ?? this.timeoutMs);
      this.pending.set(requestId, { frame, resolve, reject, timer, resend });
      this.send(frame);
    });
  }

  /** Settles the request a reply answers; false when none waits for it. */
  resolve(requestId, reply) {
    const p = this.pending.get(requestId);
    if (!p) return false;
    this.pending.delete(requestId);
    clearTimeout(p.timer);
    if (reply.error) p.reject(errorFromFrame(reply));
    else p.resolve(reply);
    return true;
  }

  /** Fails the requests that do not survive a reconnect. */
  connectionLost(error) {
    for (const [id, p] of this.pending) {
      if (p.resend) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(error);
    }
  }

  resendAll() {
    for (const p of this.pending.values()) this.send(p.frame);
  }

  failAll(error) {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.pending.clear();
  }
}
