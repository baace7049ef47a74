// One conversation as a device holds it: a contiguous window of messages by
// seq (older pages are loaded on demand), messages that arrived beyond a
// gap, durable events applied to the messages they target, and the read
// cursors. Pure: no I/O, so `node --test` covers it (web/sdk/test/).

export const EVENT = 'MESSAGE_TYPE_EVENT';

/**
 * @typedef {object} Message  flare.client.v1.Message in proto3 JSON, int64 fields as Numbers
 * @property {string} conversationId
 * @property {number} seq
 * @property {string} [type]
 * @property {string} [sender]
 * @property {{text?: string}} [content]
 * @property {Array<{url: string, mimeType?: string, name?: string, sizeBytes?: number}>} [attachments]
 * @property {string} [status]
 * @property {number} [version]
 * @property {Array<{emoji: string, count: number, userIds: string[]}>} [reactions]
 * @property {object} [event]
 * @property {string} [visibleTo]
 */

/**
 * The id of the 1:1 conversation of two users: both sides compute the same.
 * @param {string} a
 * @param {string} b
 */
export function singleConversationId(a, b) {
  // Ids are ASCII ([A-Za-z0-9_.@-]), so code-unit order is byte order.
  return a < b ? `single:${a}:${b}` : `single:${b}:${a}`;
}

/** @param {string} id @param {string} me  the other user of a 1:1 conversation */
export function peerOf(id, me) {
  if (!id.startsWith('single:')) return '';
  const [, a, b] = id.split(':');
  return a === me ? b : a;
}

/** CONVERSATION_TYPE_* of a conversation id. */
export function conversationTypeOf(id) {
  if (id.startsWith('single:')) return 'CONVERSATION_TYPE_SINGLE';
  if (id.startsWith('channel:')) return 'CONVERSATION_TYPE_CHANNEL';
  return 'CONVERSATION_TYPE_GROUP';
}

/** @param {Message} m */
export function isEvent(m) {
  return m.type === EVENT;
}

/** Counts towards the unread number: someone else's message, not an event. */
export function countsAsUnread(m, me) {
  return !isEvent(m) && m.sender !== me;
}

function applyReaction(change, user, target) {
  const reactions = (target.reactions ??= []);
  let r = reactions.find((x) => x.emoji === change.emoji);
  if (change.add) {
    if (!r) reactions.push((r = { emoji: change.emoji, count: 0, userIds: [] }));
    r.userIds ??= [];
    if (!r.userIds.includes(user)) r.userIds.push(user);
  } else if (r) {
    r.userIds = (r.userIds ?? []).filter((u) => u !== user);
    if (r.userIds.length === 0) reactions.splice(reactions.indexOf(r), 1);
  }
  for (const x of reactions) x.count = x.userIds.length;
  return true;
}

/**
 * Applies a recall, edit or reaction event to the message it targets, as the
 * server does (src/services/message_events.cc ApplyEventToTarget): applying
 * one twice changes nothing, so a stored target that already reflects the
 * event stays as it is.
 * @param {Message} ev  a MESSAGE_TYPE_EVENT message
 * @param {Message} target
 * @returns {boolean} whether the target changed
 */
export function applyEventToTarget(ev, target) {
  const e = ev.event ?? {};
  if (e.recall) {
    if (target.status === 'MESSAGE_STATUS_RECALLED') return false;
    target.status = 'MESSAGE_STATUS_RECALLED';
    delete target.content;
    delete target.attachments;
    delete target.quote;
    return true;
  }
  if (e.edit) {
    const version = e.edit.version ?? 0;
    if ((target.version ?? 0) >= version) return false;
    const history = (target.editHistory ??= []);
    history.push({
      version: target.version ?? 0,
      content: target.content ?? {},
      editedMs: ev.serverTimeMs ?? 0,
    });
    if (e.edit.historyKept !== undefined) {
      const drop = history.length - Math.max(0, e.edit.historyKept);
      if (drop > 0) history.splice(0, drop);
    }
    target.content = e.edit.content ?? {};
    target.version = version;
    target.status = 'MESSAGE_STATUS_EDITED';
    return true;
  }
  if (e.reaction) return applyReaction(e.reaction, ev.sender, target);
  return false;
}

/**
 * Where a device starts the window of a conversation it has not loaded yet:
 * the last `window` messages, and back to the read cursor when some are
 * unread so that they are all there, but never more than `maxCatchUp`.
 * @param {{maxSeq: number, readSeq?: number, unread?: number, visibleFrom?: number}} summary
 *   a bootstrap ConversationSummary (unread undefined: counted from readSeq)
 * @returns {number} the seq after which to sync
 */
export function initialBase({ maxSeq, readSeq = 0, unread, visibleFrom = 1 }, window, maxCatchUp) {
  const from = unread === 0 ? maxSeq : readSeq;
  let base = Math.min(from, maxSeq - window);
  base = Math.max(base, maxSeq - maxCatchUp, visibleFrom - 1, 0);
  return Math.min(base, maxSeq);
}

export class ConversationState {
  /** @param {string} id @param {string} me the signed-in user */
  constructor(id, me) {
    this.id = id;
    this.me = me;
    this.type = conversationTypeOf(id);
    this.peer = peerOf(id, me);
    this.name = '';
    /** Seq below the loaded window; null until the window is placed. */
    this.low = null;
    /** Highest seq delivered contiguously (the window's top). */
    this.delivered = 0;
    /** @type {Map<number, Message>} */
    this.messages = new Map();
    /** @type {Map<number, Message>} received beyond a gap */
    this.ahead = new Map();
    /** Seqs this user deleted for themself. */
    this.hidden = new Set();
    this.readSeq = 0;
    /** (1:1) how far the peer has read: read receipts. */
    this.peerReadSeq = 0;
    this.visibleFrom = 1;
    this.maxSeq = 0;
    /** Bootstrap's unread count and the max seq it was counted at. */
    this.serverUnread = 0;
    this.serverMaxSeq = 0;
    this.lastActivityMs = 0;
    this.syncing = false;
    this.resync = false;
  }

  get placed() {
    return this.low !== null;
  }

  /** Places the window: messages after `base` will be delivered. */
  place(base) {
    if (this.placed) return;
    this.low = base;
    this.delivered = base;
  }

  /**
   * Takes a message from a push or a forward sync and delivers every message
   * that is now contiguous.
   * @param {Message} m
   * @returns {{added: Message[], updated: number[], gap: boolean}}
   */
  accept(m) {
    const out = { added: [], updated: [], gap: false };
    if (!this.placed) this.place(Math.max(0, m.seq - 1));
    this.maxSeq = Math.max(this.maxSeq, m.seq);
    if (m.seq <= this.delivered) return out; // duplicate
    this.ahead.set(m.seq, m);
    while (this.ahead.has(this.delivered + 1)) {
      const next = this.ahead.get(this.delivered + 1);
      this.ahead.delete(next.seq);
      this.delivered = next.seq;
      this.store(next, out);
    }
    out.gap = this.ahead.size > 0;
    return out;
  }

  store(m, out) {
    this.messages.set(m.seq, m);
    out.added.push(m);
    this.lastActivityMs = Math.max(this.lastActivityMs, m.serverTimeMs ?? 0);
    if (!isEvent(m) || !m.event) return;
    if (m.event.membership?.name) this.name = m.event.membership.name;
    if (m.event.deleteForMe && m.visibleTo === this.me) {
      this.hidden.add(m.event.targetSeq);
      out.updated.push(m.event.targetSeq);
    }
    const target = this.messages.get(m.event.targetSeq);
    if (target && m.event.targetSeq !== m.seq && applyEventToTarget(m, target)) {
      out.updated.push(target.seq);
    }
  }

  /** A member who joined later cannot see what came before: treat it as done. */
  skipInvisible(visibleFrom) {
    this.visibleFrom = Math.max(this.visibleFrom, visibleFrom || 1);
    if (!this.placed) this.place(this.visibleFrom - 1);
    if (this.low < this.visibleFrom - 1) this.low = this.visibleFrom - 1;
    if (this.delivered < this.visibleFrom - 1) this.delivered = this.visibleFrom - 1;
    for (const seq of this.ahead.keys()) if (seq <= this.delivered) this.ahead.delete(seq);
  }

  /** Whether older messages than the window's exist (history scroll). */
  hasOlder() {
    return this.placed && this.low > this.visibleFrom - 1;
  }

  /**
   * Adds a page of older messages (seq <= low). Their stored copies already
   * reflect every event up to when they were read, so their events are not
   * applied again.
   * @param {Message[]} page in seq order, directly below the window
   * @param {number} from the seq after which the page was read
   */
  addOlder(page, from) {
    const added = [];
    for (const m of page) {
      if (m.seq > this.low || this.messages.has(m.seq)) continue;
      this.messages.set(m.seq, m);
      added.push(m);
      if (isEvent(m) && m.event?.deleteForMe && m.visibleTo === this.me) {
        this.hidden.add(m.event.targetSeq);
      }
    }
    this.low = Math.min(this.low, Math.max(from, this.visibleFrom - 1));
    return added;
  }

  moveRead(seq) {
    if (seq <= this.readSeq) return false;
    this.readSeq = seq;
    return true;
  }

  movePeerRead(seq) {
    if (seq <= this.peerReadSeq) return false;
    this.peerReadSeq = seq;
    return true;
  }

  /** Unread messages: counted over the window, plus the bootstrap's count for what lies below it. */
  unread() {
    let n = 0;
    for (const m of this.messages.values()) {
      if (m.seq > this.readSeq && countsAsUnread(m, this.me)) n++;
    }
    if (this.placed && this.readSeq < this.low && this.serverMaxSeq > this.low) {
      // Unread messages below the window: what the server counted minus
      // what the window holds of that range.
      let inWindow = 0;
      for (const m of this.messages.values()) {
        if (m.seq > this.low && m.seq <= this.serverMaxSeq && countsAsUnread(m, this.me))
          inWindow++;
      }
      n += Math.max(0, this.serverUnread - inWindow);
    } else if (!this.placed) {
      n = this.serverUnread;
    }
    return n;
  }

  /** Messages to show, in seq order: no events, nothing deleted for me. */
  visibleMessages() {
    return [...this.messages.values()]
      .filter((m) => !isEvent(m) && !this.hidden.has(m.seq))
      .sort((a, b) => a.seq - b.seq);
  }

  /** Every message held (events included), in seq order. */
  allMessages() {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }

  lastMessage() {
    const shown = this.visibleMessages();
    return shown.length ? shown[shown.length - 1] : undefined;
  }
}
