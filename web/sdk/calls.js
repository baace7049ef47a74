// FlareClient's requests: sending, history, message operations, read
// cursors, typing, groups, presence and media. Mixed into
// FlareClient.prototype by flare-client.js; `this` is the client.

import { FlareError } from './codec.js';
import { conversationTypeOf, singleConversationId } from './conversation.js';

let opCounter = 0;
function newId(prefix) {
  const rnd = globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;
  return `${prefix}-${rnd}-${++opCounter}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Whether a failed request may succeed if sent again unchanged. */
function retryable(e) {
  return e instanceof FlareError && (e.code === 'RATE_LIMITED' || e.code === 'UNAVAILABLE');
}

/** Where a send or operation goes: a conversation id ("single:..", "group:..") or a peer user id. */
function target(to) {
  return to.includes(':') ? { conversationId: to } : { peerUserId: to };
}

export const callMethods = {
  /**
   * Calls until the reply is not a retryable error (RATE_LIMITED waits the
   * server's retry_after_ms) or the request timeout has passed. The body
   * keeps its client_msg_id, so a repeat is never a second message.
   */
  async callRetrying(body) {
    const deadline = Date.now() + this.opt.requestTimeoutMs;
    let backoff = this.opt.backoffMinMs;
    for (;;) {
      try {
        return await this.call(body);
      } catch (e) {
        if (!retryable(e) || Date.now() >= deadline) throw e;
        await sleep(e.retryAfterMs || backoff);
        backoff = Math.min(backoff * 2, this.opt.backoffMaxMs);
      }
    }
  },

  /**
   * Sends a message and resolves with its SendAck once it is stored; the
   * message also appears in its conversation ("messages" event).
   * @param {object} req SendRequest fields: conversationId or peerUserId, type, content,
   *   attachments, quote, attributes, mentions
   */
  async send(req) {
    const send = {
      clientMsgId: newId('m'),
      type: 'MESSAGE_TYPE_TEXT',
      clientTimeMs: Date.now(),
      ...req,
    };
    const reply = await this.callRetrying({ send });
    const ack = reply.sendAck;
    this.acceptOwn(send, ack);
    return ack;
  },

  /** @param {string} to conversation id or peer user id */
  sendText(to, text, extra = {}) {
    return this.send({ ...target(to), content: { text }, ...extra });
  },

  /**
   * Uploads a file (POST /v1/media) and sends it as an image, video, audio or
   * file message with `caption`.
   * @param {string} to conversation id or peer user id
   * @param {Blob} file
   */
  async sendFile(to, file, caption = '') {
    const media = await this.uploadMedia(file);
    const mime = media.mime_type ?? file.type ?? '';
    const type = mime.startsWith('image/')
      ? 'MESSAGE_TYPE_IMAGE'
      : mime.startsWith('video/')
        ? 'MESSAGE_TYPE_VIDEO'
        : mime.startsWith('audio/')
          ? 'MESSAGE_TYPE_AUDIO'
          : 'MESSAGE_TYPE_FILE';
    const attachment = { url: media.url, mimeType: mime, sizeBytes: media.size_bytes ?? file.size };
    if (file.name) attachment.name = file.name;
    if (media.sha256) attachment.sha256 = media.sha256;
    return this.send({
      ...target(to),
      type,
      content: { text: caption },
      attachments: [attachment],
    });
  },

  /** The HTTP API's origin ("" = the page's own). */
  httpBase() {
    return this.opt.httpBase ?? '';
  },

  /**
   * POST /v1/media with this client's token.
   * @param {Blob} file
   * @returns {Promise<{media_id: string, url: string, thumbnail_url?: string, mime_type: string,
   *   size_bytes: number, width?: number, height?: number, sha256: string}>}
   */
  async uploadMedia(file) {
    const res = await fetch(`${this.httpBase()}/v1/media`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.token}` },
      body: file,
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      throw new FlareError(`HTTP_${res.status}`, body.error?.message ?? res.statusText);
    }
    return body;
  },

  /** A URL an <img> can load: the attachment (or its thumbnail) with this client's token. */
  mediaUrl(url, { thumbnail = false } = {}) {
    const path = thumbnail ? `${url}/thumbnail` : url;
    const sep = path.includes('?') ? '&' : '?';
    return `${this.httpBase()}${path}${sep}access_token=${encodeURIComponent(this.token)}`;
  },

  /** Puts this device's own sent message into its conversation. */
  acceptOwn(sent, ack) {
    const m = {
      serverMsgId: ack.serverMsgId,
      clientMsgId: ack.clientMsgId,
      conversationId: ack.conversationId,
      conversationType: conversationTypeOf(ack.conversationId),
      sender: this.userId,
      senderDevice: this.device,
      seq: ack.seq,
      type: sent.type,
      content: sent.content ?? {},
      attachments: sent.attachments ?? [],
      attributes: sent.attributes ?? {},
      mentions: sent.mentions ?? [],
      clientTimeMs: sent.clientTimeMs,
      serverTimeMs: ack.serverTimeMs,
      // As stored: no status, version 0 (the first edit's event carries 1).
    };
    if (sent.quote) m.quote = sent.quote;
    if (this.acceptAll(ack.conversationId, [m])) this.startSync(ack.conversationId);
  },

  /**
   * The 1:1 conversation with `peer` (created locally if new; it exists on
   * the server once a message was sent).
   */
  openPeer(peer) {
    const c = this.conv(singleConversationId(this.userId, peer));
    if (!c.placed) c.place(0);
    return c;
  },

  /**
   * Loads up to `count` messages older than the window (history scroll).
   * @returns {Promise<number>} how many were added
   */
  async loadOlder(id, count = 50) {
    const c = this.conv(id);
    if (!c.hasOlder()) return 0;
    const from = Math.max(c.visibleFrom - 1, c.low - count, 0);
    let after = from;
    const page = [];
    while (after < c.low) {
      const r = await this.call({
        sync: { conversationId: id, afterSeq: after, limit: Math.min(c.low - after, 500) },
      });
      const res = r.syncResult ?? {};
      c.skipInvisible(res.visibleFromSeq ?? 1);
      const got = (res.messages ?? []).filter((m) => m.seq <= c.low);
      page.push(...got);
      if (!got.length || !res.hasMore) break;
      after = got[got.length - 1].seq;
    }
    const added = c.addOlder(page, from);
    this.emit('messages', { conversationId: id, added, updated: [], older: true });
    return added.length;
  },

  /** Moves this user's read cursor (default: everything this device has). */
  async markRead(id, seq) {
    const c = this.conv(id);
    const upTo = seq ?? c.delivered;
    if (upTo <= 0) return;
    if (c.moveRead(upTo)) this.emit('conversations');
    await this.call({ markRead: { conversationId: id, seq: upTo } });
  },

  /** How many other members read up to `seq`. */
  async readCount(id, seq) {
    const r = await this.call({ readCount: { conversationId: id, seq } });
    return r.readCountResult;
  },

  /** Tells the other members this user is typing; false when the server's rate limit refused it. */
  async typing(id) {
    try {
      await this.call({ typing: { conversationId: id } }, { resend: false });
      return true;
    } catch (e) {
      if (e instanceof FlareError && e.code === 'RATE_LIMITED') return false;
      throw e;
    }
  },

  /**
   * A recall, edit, reaction or delete for me of the message at targetSeq;
   * the event is applied here once stored. Resolves with the op_ack.
   */
  async messageOp(id, targetSeq, op) {
    const body = { messageOp: { conversationId: id, targetSeq, clientMsgId: newId('op'), ...op } };
    const reply = await this.callRetrying(body);
    const ack = reply.opAck;
    // This device's own events are not pushed back to it: fetch them.
    this.syncIfBehind(id, ack.seq);
    return ack;
  },

  recall(id, seq) {
    return this.messageOp(id, seq, { recall: {} });
  },

  edit(id, seq, text) {
    return this.messageOp(id, seq, { edit: { content: { text } } });
  },

  /** Adds (or with add = false removes) this user's reaction. */
  react(id, seq, emoji, add = true) {
    return this.messageOp(id, seq, { reaction: { emoji, add } });
  },

  deleteForMe(id, seq) {
    return this.messageOp(id, seq, { deleteForMe: {} });
  },

  /** Any group operation; a change's membership event is fetched into the conversation. */
  async group(request) {
    const body = { group: { clientMsgId: newId('g'), ...request } };
    const reply = await this.callRetrying(body);
    const result = reply.groupResult ?? {};
    const info = result.info ?? {};
    if (info.conversationId) {
      const c = this.conv(info.conversationId);
      if (info.settings?.name) c.name = info.settings.name;
      c.members = (info.members ?? []).map((m) => m.userId);
      if (result.seq) this.syncIfBehind(info.conversationId, result.seq);
      this.emit('conversations');
    }
    return result;
  },

  /**
   * Creates a group (or a channel with type CONVERSATION_TYPE_CHANNEL).
   * @returns {Promise<string>} its conversation id
   */
  async createGroup(name, memberIds, type = 'CONVERSATION_TYPE_GROUP') {
    const r = await this.group({ create: { type, settings: { name }, memberIds } });
    return r.info.conversationId;
  },

  addMembers(id, userIds) {
    return this.group({ conversationId: id, addMembers: { userIds } });
  },

  removeMembers(id, userIds) {
    return this.group({ conversationId: id, removeMembers: { userIds } });
  },

  leaveGroup(id) {
    return this.group({ conversationId: id, leave: {} });
  },

  async groupInfo(id) {
    const r = await this.call({ group: { conversationId: id, info: {} } });
    return r.groupResult?.info;
  },

  /**
   * Presence: subscribe to users' online/offline notices ("presence"
   * events), unsubscribe, or query.
   * @returns {Promise<Array<{userId: string, online: boolean, platforms: string[]}>>}
   */
  async presence({ subscribe = [], unsubscribe = [], query = [] }) {
    const r = await this.call({ presence: { subscribe, unsubscribe, query } });
    return (r.presenceResult?.statuses ?? []).map((s) => ({ online: false, platforms: [], ...s }));
  },
};
