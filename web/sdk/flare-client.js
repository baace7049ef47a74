// @flare-im/client: the Flare client protocol over one WebSocket, in the
// browser or in Node (pass `WebSocket`). Speaks text frames (proto3 JSON).
//
// What it keeps for the application, like the C++ client library
// (src/client/flare_client.cc): every request answered by request id or
// failed after a timeout; sends, message operations and group changes
// retried across reconnects under the same client_msg_id (never a second
// message); pushes acked; each conversation gap- and duplicate-free, synced
// whenever a seq is missing and after every reconnect, so a device that was
// away gets exactly what it missed, in order; events (recall, edit,
// reaction, delete for me) applied to the local copies.

import { decodeServerFrames, encodeClientFrame, errorFromFrame, FlareError } from './codec.js';
import {
  ConversationState,
  conversationTypeOf,
  initialBase,
  singleConversationId,
} from './conversation.js';
import { Requests } from './requests.js';
import { callMethods } from './calls.js';

export { FlareError } from './codec.js';
export {
  ConversationState,
  applyEventToTarget,
  singleConversationId,
  peerOf,
  isEvent,
} from './conversation.js';

/**
 * @typedef {object} ClientOptions
 * @property {string} url  ws://host:port/ws
 * @property {string | (() => Promise<string>)} token  a client JWT, or a function that
 *   fetches a fresh one (called before every connect)
 * @property {typeof WebSocket} [WebSocket]  the WebSocket class (default: globalThis.WebSocket)
 * @property {number} [requestTimeoutMs=15000]
 * @property {number} [backoffMinMs=250]  first reconnect delay, doubled up to backoffMaxMs
 * @property {number} [backoffMaxMs=5000]
 * @property {number} [pingIntervalMs=30000]  keeps the connection from idling out
 * @property {number} [initialWindow=50]  messages loaded when a conversation is first seen
 * @property {number} [maxCatchUp=500]  at most this many unread messages loaded at first sight
 * @property {number} [syncPage=200]
 * @property {string} [httpBase]  origin of the HTTP API for media (default: the page's)
 */

/** @typedef {'connecting'|'online'|'offline'|'closed'|'auth_failed'|'kicked'} ConnectionState */

let idCounter = 0;
/** A new random client_msg_id. */
export function newClientMsgId() {
  const rnd = globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;
  return `web-${rnd}-${++idCounter}`;
}

export class FlareClient {
  /** @param {ClientOptions} options */
  constructor(options) {
    this.opt = {
      requestTimeoutMs: 15000,
      backoffMinMs: 250,
      backoffMaxMs: 5000,
      pingIntervalMs: 30000,
      initialWindow: 50,
      maxCatchUp: 500,
      syncPage: 200,
      ...options,
    };
    this.WebSocket = this.opt.WebSocket ?? globalThis.WebSocket;
    /** @type {ConnectionState} */
    this.state = 'offline';
    this.userId = '';
    this.tenant = '';
    this.device = '';
    this.token = '';
    /** @type {Map<string, ConversationState>} */
    this.convs = new Map();
    this.listeners = new Map();
    this.requests = new Requests(this.opt.requestTimeoutMs, (frame) => this.sendFrame(frame));
    this.ws = null;
    this.stayOffline = true;
    this.backoffMs = this.opt.backoffMinMs;
    this.reconnects = 0;
    this.timers = new Set();
  }

  // ---- events ----

  /**
   * Subscribes to an event; returns the function that unsubscribes.
   * Events: "state" (ConnectionState), "messages" ({conversationId, added, updated}),
   * "conversations" (), "read" ({conversationId, userId, seq}), "typing"
   * ({conversationId, userId}), "presence" ({userId, online, platforms}),
   * "error" (FlareError of a frame without a request), "frame" (any server frame).
   */
  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type)?.delete(fn);
  }

  emit(type, value) {
    for (const fn of this.listeners.get(type) ?? []) {
      try {
        fn(value);
      } catch (e) {
        console.error(`flare: a "${type}" listener threw`, e);
      }
    }
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  // ---- connection ----

  /** Connects and authenticates; afterwards reconnects by itself until close(). */
  connect() {
    this.stayOffline = false;
    this.backoffMs = this.opt.backoffMinMs;
    return new Promise((resolve, reject) => {
      this.firstConnect = { resolve, reject };
      this.open();
    });
  }

  /** Drops the connection and stays offline, keeping what it holds. */
  disconnect() {
    this.stayOffline = true;
    this.clearTimers();
    this.ws?.close(1000, 'disconnect');
    this.connectionLost('disconnected');
  }

  /** Comes back after disconnect() and catches up. */
  reconnect() {
    return this.connect();
  }

  close() {
    this.disconnect();
    this.requests.failAll(new FlareError('CLOSED', 'client closed'));
    this.setState('closed');
  }

  async open() {
    this.setState('connecting');
    try {
      const t = this.opt.token;
      this.token = typeof t === 'function' ? await t() : t;
    } catch (e) {
      return this.connectionLost(`token: ${e.message}`);
    }
    if (this.stayOffline) return;
    let ws;
    try {
      ws = new this.WebSocket(this.opt.url);
    } catch (e) {
      return this.connectionLost(e.message);
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.sendRaw({ requestId: 'auth', auth: { token: this.token } });
    };
    ws.onmessage = (e) => {
      if (this.ws === ws && typeof e.data === 'string') this.onData(e.data);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onClosed(e.code, e.reason);
    };
    ws.onerror = () => {}; // onclose follows
  }

  onClosed(code, reason) {
    if (code === 4001) {
      this.stayOffline = true;
      this.setState('auth_failed');
    } else if (code === 4004) {
      this.stayOffline = true; // displaced by another login: do not come back by itself
      this.setState('kicked');
    }
    this.connectionLost(reason || `closed ${code}`);
  }

  connectionLost(why) {
    const wasReady = this.ready;
    this.ready = false;
    this.clearTimers();
    this.requests.connectionLost(new FlareError('DISCONNECTED', why));
    for (const c of this.convs.values()) c.syncing = false;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try {
        ws.close();
      } catch {}
    }
    if (this.stayOffline) {
      if (this.state !== 'auth_failed' && this.state !== 'kicked' && this.state !== 'closed') {
        this.setState('offline');
      }
      this.settleFirstConnect(new FlareError('DISCONNECTED', why));
      return;
    }
    if (wasReady) this.reconnects++;
    this.setState('connecting');
    const delay = this.backoffMs * (0.75 + Math.random() * 0.5);
    this.backoffMs = Math.min(this.backoffMs * 2, this.opt.backoffMaxMs);
    this.after(delay, () => {
      if (!this.stayOffline) this.open();
    });
  }

  settleFirstConnect(error) {
    if (!this.firstConnect) return;
    const { resolve, reject } = this.firstConnect;
    this.firstConnect = null;
    if (error) reject(error);
    else resolve();
  }

  after(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  clearTimers() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    clearInterval(this.pinger);
  }

  sendRaw(frame) {
    if (this.ws?.readyState === 1) this.ws.send(encodeClientFrame(frame));
  }

  /** Sends a frame if the session is authenticated (else it waits in `requests`). */
  sendFrame(frame) {
    if (this.ready) this.sendRaw(frame);
  }

  onData(text) {
    let frames;
    try {
      frames = decodeServerFrames(text);
    } catch {
      return;
    }
    for (const f of frames) this.onFrame(f);
  }

  onFrame(f) {
    this.emit('frame', f);
    if (f.requestId === 'auth') return this.onAuthReply(f);
    if (f.push) return this.onPush(f.push.messages ?? []);
    if (!f.requestId) return this.onNotice(f);
    this.requests.resolve(f.requestId, f);
  }

  onAuthReply(f) {
    if (!f.authResult && errorFromFrame(f).code === 'UNAVAILABLE') {
      // Refused for now (the server could not check the login, or is busy):
      // come back after the backoff, as after a lost connection.
      this.connectionLost(`login refused for now: ${f.error?.message ?? ''}`);
      return;
    }
    if (!f.authResult) {
      const err = errorFromFrame(f);
      this.stayOffline = true;
      this.setState('auth_failed');
      this.settleFirstConnect(err);
      this.requests.failAll(err);
      this.ws?.close();
      return;
    }
    this.userId = f.authResult.userId;
    this.tenant = f.authResult.tenant;
    this.device = f.authResult.device;
    for (const c of this.convs.values()) c.me = this.userId;
    this.ready = true;
    this.backoffMs = this.opt.backoffMinMs;
    this.pinger = setInterval(
      () => this.sendRaw({ requestId: `ping-${Date.now()}`, ping: { clientTimeMs: Date.now() } }),
      this.opt.pingIntervalMs,
    );
    this.pinger.unref?.(); // in Node, pings alone do not keep the process running
    this.setState('online');
    this.requests.resendAll();
    this.settleFirstConnect();
    this.catchUp().catch((e) => {
      // A connection lost meanwhile catches up again when it is back.
      if (!(e instanceof FlareError && e.code === 'DISCONNECTED')) this.emit('error', e);
    });
  }

  onNotice(f) {
    if (f.advanced) {
      this.syncIfBehind(f.advanced.conversationId, f.advanced.maxSeq);
    } else if (f.readNotice) {
      this.onReadNotice(f.readNotice);
    } else if (f.typing) {
      this.emit('typing', f.typing);
    } else if (f.presenceNotice) {
      this.emit('presence', { online: false, platforms: [], ...f.presenceNotice });
    } else if (f.catchUp) {
      // Pushes may have been lost (the server's route table lost this device for a while).
      this.catchUp().catch((e) => {
        if (!(e instanceof FlareError && e.code === 'DISCONNECTED')) this.emit('error', e);
      });
    } else if (f.kicked) {
      this.stayOffline = true;
      this.setState('kicked');
    } else if (f.error) {
      this.emit('error', errorFromFrame(f));
    }
  }

  onReadNotice(n) {
    const c = this.conv(n.conversationId);
    const changed = n.userId === this.userId ? c.moveRead(n.seq ?? 0) : c.movePeerRead(n.seq ?? 0);
    this.emit('read', { seq: 0, ...n });
    if (changed) this.emit('conversations');
  }

  // ---- conversations and seq tracking ----

  /** The conversation's state (created empty if unknown). */
  conv(id) {
    let c = this.convs.get(id);
    if (!c) {
      c = new ConversationState(id, this.userId);
      this.convs.set(id, c);
    }
    return c;
  }

  /** Conversations, most recently active first. */
  conversations() {
    return [...this.convs.values()].sort(
      (a, b) => b.lastActivityMs - a.lastActivityMs || a.id.localeCompare(b.id),
    );
  }

  /** After every (re)connect: every conversation's max seq, then a sync of those behind. */
  async catchUp() {
    const summaries = await this.bootstrap();
    for (const s of summaries) {
      const c = this.conv(s.conversationId);
      c.maxSeq = Math.max(c.maxSeq, s.maxSeq ?? 0);
      c.moveRead(s.readSeq ?? 0);
      c.serverUnread = s.unread ?? 0;
      c.serverMaxSeq = s.maxSeq ?? 0;
      if (s.name) c.name = s.name;
      if (s.peerUserId) c.peer = s.peerUserId;
      c.lastActivityMs = Math.max(c.lastActivityMs, s.lastMessage?.serverTimeMs ?? 0);
      if (!c.placed) {
        c.place(
          initialBase(
            { maxSeq: c.maxSeq, readSeq: c.readSeq, unread: s.unread ?? 0 },
            this.opt.initialWindow,
            this.opt.maxCatchUp,
          ),
        );
      }
      if (c.maxSeq > c.delivered) this.startSync(c.id);
    }
    this.emit('conversations');
  }

  syncIfBehind(id, seq) {
    const c = this.conv(id);
    c.maxSeq = Math.max(c.maxSeq, seq);
    if (!c.placed) c.place(Math.max(0, seq - this.opt.initialWindow));
    if (seq > c.delivered) this.startSync(id);
  }

  /** Forward sync from the window's top until the conversation has no gap. */
  async startSync(id) {
    const c = this.conv(id);
    if (c.syncing) {
      c.resync = true; // the sync in flight may have been read before what we now expect
      return;
    }
    if (!c.placed) c.place(0);
    c.syncing = true;
    c.resync = false;
    let again = false;
    try {
      const r = await this.call(
        { sync: { conversationId: id, afterSeq: c.delivered, limit: this.opt.syncPage } },
        { resend: false },
      );
      const res = r.syncResult ?? {};
      c.skipInvisible(res.visibleFromSeq ?? 1);
      c.maxSeq = Math.max(c.maxSeq, res.maxSeq ?? 0);
      again = this.acceptAll(id, res.messages ?? []);
      again ||= !!res.hasMore || c.maxSeq > c.delivered;
      this.ack(id);
    } catch (e) {
      if (!(e instanceof FlareError) || e.code !== 'DISCONNECTED') this.emit('error', e);
      again = false; // after a reconnect the catch-up syncs again
    } finally {
      c.syncing = false;
    }
    if ((again || c.resync) && this.ready) this.startSync(id);
  }

  onPush(messages) {
    const touched = new Set();
    const gaps = new Set();
    const byConv = new Map();
    for (const m of messages) {
      if (!byConv.has(m.conversationId)) byConv.set(m.conversationId, []);
      byConv.get(m.conversationId).push(m);
    }
    for (const [id, list] of byConv) {
      if (this.acceptAll(id, list)) gaps.add(id);
      touched.add(id);
    }
    for (const id of touched) this.ack(id);
    for (const id of gaps) this.startSync(id);
  }

  /** Delivers messages to a conversation; true when a gap remains. */
  acceptAll(id, messages) {
    const c = this.conv(id);
    const isNew = !c.placed;
    if (isNew && messages.length) {
      c.place(Math.max(0, messages[0].seq - 1 - this.opt.initialWindow));
    }
    const added = [];
    const updated = new Set();
    let gap = false;
    for (const m of messages) {
      const r = c.accept(m);
      added.push(...r.added);
      for (const s of r.updated) updated.add(s);
      gap = r.gap;
    }
    if (added.length || updated.size) {
      this.emit('messages', { conversationId: id, added, updated: [...updated] });
      this.emit('conversations');
    }
    return gap;
  }

  ack(id) {
    const c = this.convs.get(id);
    if (!c || !this.ready || c.delivered <= 0) return;
    this.sendRaw({ pushAck: { conversationId: id, seq: c.delivered } });
  }

  // ---- requests ----

  /**
   * Sends any request frame and resolves with its reply (rejects with a
   * FlareError on an error reply or a timeout).
   * @param {object} body  a ClientFrame without requestId, e.g. {sync: {...}}
   * @param {{resend?: boolean, timeoutMs?: number}} [how]  resend: sent again after a reconnect
   */
  call(body, how = {}) {
    if (this.state === 'closed') return Promise.reject(new FlareError('CLOSED', 'client closed'));
    return this.requests.start(body, { resend: how.resend ?? true, timeoutMs: how.timeoutMs });
  }

  /** Every conversation of this user, fetching bootstrap pages until the last. */
  async bootstrap() {
    const all = [];
    let cursor = '';
    for (;;) {
      const r = await this.call({ bootstrap: { cursor } }, { resend: false });
      const page = r.bootstrapResult ?? {};
      all.push(...(page.conversations ?? []));
      if (!page.hasMore || !page.nextCursor || page.nextCursor <= cursor) return all;
      cursor = page.nextCursor;
    }
  }
}

// The rest of the API (sending, history, operations, groups, presence,
// media) is in calls.js.
Object.assign(FlareClient.prototype, callMethods);
