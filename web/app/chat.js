// The demo chat: conversation list with unread counts, one open
// conversation (messages, receipts, typing, presence), the composer.
// Everything it shows comes from the FlareClient's state.

import { coalesce, h, replace } from './dom.js';
import { renderMessage, systemText } from './message_view.js';

const TYPING_SHOWN_MS = 3000;
const TYPING_SEND_INTERVAL_MS = 1500;
const GROUP_RECEIPTS_REFRESH_MS = 10000;

export class ChatView {
  /** @param {HTMLElement} root @param {import('../sdk/flare-client.js').FlareClient} client */
  constructor(root, client) {
    this.root = root;
    this.client = client;
    this.current = '';
    this.editing = 0; // seq of the message being edited
    this.typingUntil = new Map(); // conversation -> {user, until}
    this.presence = new Map(); // user -> online
    this.lastTypingSent = 0;
    this.receipts = new Map(); // group conversation -> {seq, readCount, memberCount}
    this.renderList = coalesce(() => this.drawList());
    this.renderMessages = coalesce(() => this.drawMessages());
  }

  start() {
    this.build();
    const c = this.client;
    c.on('conversations', () => {
      this.renderList();
      if (this.current) this.drawHeader();
    });
    c.on('messages', (e) => this.onMessages(e));
    c.on('read', () => this.renderMessages());
    c.on('typing', (t) => this.onTyping(t));
    c.on('presence', (p) => {
      this.presence.set(p.userId, p.online);
      this.drawHeader();
    });
    c.on('state', () => this.drawState());
    c.on('error', (e) => this.flash(e.message));
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState !== 'visible' || !this.current) return;
      this.markRead();
      this.refreshReceipts();
    });
    // Groups get no read notices of other members: ask how many have read.
    setInterval(() => {
      const c = this.current && this.client.conv(this.current);
      if (c && !c.peer && document.visibilityState === 'visible') this.refreshReceipts();
    }, GROUP_RECEIPTS_REFRESH_MS);
    this.drawState();
    this.drawList();
  }

  build() {
    const me = this.client.userId;
    this.stateEl = h('span', { class: 'state', 'data-testid': 'connection-state' });
    this.listEl = h('ul', { class: 'conv-list', 'data-testid': 'conversation-list' });
    this.peerInput = h('input', { placeholder: 'user id', 'data-testid': 'peer-input' });
    this.groupName = h('input', { placeholder: 'group name', 'data-testid': 'group-name' });
    this.groupMembers = h('input', {
      placeholder: 'members: bob, carol',
      'data-testid': 'group-members',
    });
    this.headerEl = h('header', { class: 'conv-header', 'data-testid': 'conversation-header' });
    this.messagesEl = h('div', { class: 'messages', 'data-testid': 'message-list' });
    this.messagesEl.addEventListener('scroll', () => {
      this.stuck = this.nearBottom();
      if (this.messagesEl.scrollTop < 40) this.loadOlder();
    });
    this.typingEl = h('div', { class: 'typing', 'data-testid': 'typing-indicator' });
    this.input = h('textarea', {
      rows: 2,
      placeholder: 'Message',
      'data-testid': 'composer-input',
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        this.submit();
      } else if (e.key === 'Escape') {
        this.stopEditing();
      }
    });
    this.input.addEventListener('input', () => this.sendTyping());
    this.sendButton = h(
      'button',
      { 'data-testid': 'send-button', onclick: () => this.submit() },
      'Send',
    );
    this.fileInput = h('input', {
      type: 'file',
      accept: 'image/*',
      'data-testid': 'file-input',
      onchange: () => this.sendFile(),
    });
    this.flashEl = h('div', { class: 'flash', 'data-testid': 'flash' });
    this.composer = h('div', { class: 'composer' }, this.input, this.fileInput, this.sendButton);
    replace(
      this.root,
      h(
        'aside',
        { class: 'sidebar' },
        h('div', { class: 'me' }, h('strong', { 'data-testid': 'me' }, me), ' ', this.stateEl),
        h(
          'form',
          { class: 'new-chat', onsubmit: (e) => (e.preventDefault(), this.openPeer()) },
          this.peerInput,
          h('button', { 'data-testid': 'open-peer' }, 'Chat'),
        ),
        h(
          'form',
          { class: 'new-group', onsubmit: (e) => (e.preventDefault(), this.createGroup()) },
          this.groupName,
          this.groupMembers,
          h('button', { 'data-testid': 'create-group' }, 'New group'),
        ),
        this.listEl,
      ),
      h(
        'main',
        { class: 'conversation' },
        this.headerEl,
        this.messagesEl,
        this.typingEl,
        this.composer,
        this.flashEl,
      ),
    );
    this.drawHeader();
  }

  flash(text) {
    this.flashEl.textContent = text;
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => (this.flashEl.textContent = ''), 5000);
  }

  drawState() {
    this.stateEl.textContent = this.client.state;
    this.stateEl.dataset.state = this.client.state;
  }

  // ---- conversation list ----

  title(c) {
    if (c.peer) return c.peer;
    return c.name || c.id;
  }

  drawList() {
    const items = this.client.conversations().map((c) => {
      const unread = c.id === this.current ? 0 : c.unread();
      const last = c.lastMessage();
      return h(
        'li',
        {
          class: c.id === this.current ? 'conv active' : 'conv',
          'data-testid': 'conversation-item',
          'data-conversation-id': c.id,
          'data-title': this.title(c),
          onclick: () => this.open(c.id),
        },
        h('span', { class: 'conv-title' }, this.title(c)),
        unread > 0 && h('span', { class: 'badge', 'data-testid': 'unread-badge' }, unread),
        h('div', { class: 'conv-last' }, last ? previewOf(last) : ''),
      );
    });
    replace(this.listEl, items);
  }

  openPeer() {
    const peer = this.peerInput.value.trim();
    if (!peer) return;
    this.peerInput.value = '';
    const c = this.client.openPeer(peer);
    this.open(c.id);
  }

  async createGroup() {
    const name = this.groupName.value.trim() || 'group';
    const members = this.groupMembers.value.split(/[\s,]+/).filter(Boolean);
    try {
      const id = await this.client.createGroup(name, members);
      this.groupName.value = '';
      this.groupMembers.value = '';
      this.open(id);
    } catch (e) {
      this.flash(e.message);
    }
  }

  // ---- the open conversation ----

  async open(id) {
    this.current = id;
    this.editing = 0;
    this.drawList();
    this.drawHeader();
    this.drawMessages({ toBottom: true });
    this.markRead();
    const c = this.client.conv(id);
    this.watchPresence(c);
    if (!c.peer && !c.name && c.type !== 'CONVERSATION_TYPE_SINGLE') {
      this.client.groupInfo(id).then(
        (info) => {
          c.name = info?.settings?.name ?? '';
          this.drawHeader();
          this.renderList();
        },
        () => {},
      );
    }
    this.refreshReceipts();
    this.input.focus();
  }

  /** Subscribes to a 1:1 peer's presence (refused until the two share a conversation). */
  watchPresence(c) {
    if (!c.peer || this.presence.has(c.peer) || c.delivered === 0) return;
    this.presence.set(c.peer, false);
    this.client
      .presence({ subscribe: [c.peer], query: [c.peer] })
      .then((statuses) => {
        for (const s of statuses) this.presence.set(s.userId, s.online);
        this.drawHeader();
      })
      .catch(() => this.presence.delete(c.peer));
  }

  drawHeader() {
    const c = this.current && this.client.conv(this.current);
    if (!c) {
      replace(this.headerEl, h('span', { class: 'hint' }, 'Pick a conversation or start one.'));
      this.composer.hidden = true;
      return;
    }
    this.composer.hidden = false;
    const online = c.peer ? this.presence.get(c.peer) : undefined;
    replace(
      this.headerEl,
      h('strong', { 'data-testid': 'conversation-title' }, this.title(c)),
      c.peer &&
        h(
          'span',
          { class: online ? 'presence on' : 'presence', 'data-testid': 'peer-presence' },
          online ? 'online' : 'offline',
        ),
      !c.peer && this.groupTools(c),
    );
  }

  groupTools(c) {
    const input = h('input', { placeholder: 'add member', 'data-testid': 'add-member-input' });
    const add = async (e) => {
      e.preventDefault();
      const users = input.value.split(/[\s,]+/).filter(Boolean);
      if (!users.length) return;
      try {
        await this.client.addMembers(c.id, users);
        input.value = '';
      } catch (err) {
        this.flash(err.message);
      }
    };
    return h(
      'form',
      { class: 'group-tools', onsubmit: add },
      input,
      h('button', { 'data-testid': 'add-member-button' }, 'Add'),
    );
  }

  onMessages(e) {
    if (e.conversationId !== this.current) return;
    if (e.older) {
      this.drawMessages({ keepFromBottom: true });
      return;
    }
    const atBottom = this.nearBottom();
    this.drawMessages({ toBottom: atBottom });
    if (e.added.length) {
      this.watchPresence(this.client.conv(this.current));
      this.markRead();
      // A reply from someone else usually means they read what came before.
      this.refreshReceipts();
    }
  }

  nearBottom() {
    const el = this.messagesEl;
    return el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  }

  markRead() {
    const c = this.client.conv(this.current);
    if (document.visibilityState === 'hidden' || c.delivered <= c.readSeq) return;
    this.client.markRead(c.id).catch(() => {});
  }

  async loadOlder() {
    const id = this.current;
    if (!id || this.loadingOlder || !this.client.conv(id).hasOlder()) return;
    this.loadingOlder = true;
    try {
      await this.client.loadOlder(id, 30);
    } catch (e) {
      this.flash(e.message);
    } finally {
      this.loadingOlder = false;
    }
  }

  /** Group read receipts: how many read this user's last message. */
  async refreshReceipts() {
    const c = this.client.conv(this.current);
    const own = c.visibleMessages().filter((m) => m.sender === this.client.userId);
    const last = own[own.length - 1];
    if (!last) return;
    try {
      const r = await this.client.readCount(c.id, last.seq);
      if (c.peer) {
        if (r.readCount > 0 && c.movePeerRead(last.seq)) this.renderMessages();
      } else {
        const before = this.receipts.get(c.id);
        this.receipts.set(c.id, { seq: last.seq, ...r });
        if (before?.seq !== last.seq || before?.readCount !== r.readCount) this.renderMessages();
      }
    } catch {}
  }

  drawMessages({ toBottom = false, keepFromBottom = false } = {}) {
    if (!this.current) return replace(this.messagesEl);
    const c = this.client.conv(this.current);
    const el = this.messagesEl;
    const fromBottom = el.scrollHeight - el.scrollTop;
    const stick = toBottom || (!keepFromBottom && this.nearBottom());
    const rows = [];
    if (c.hasOlder()) {
      rows.push(
        h(
          'button',
          { class: 'older', 'data-testid': 'load-older', onclick: () => this.loadOlder() },
          'Load older messages',
        ),
      );
    }
    for (const m of c.allMessages()) {
      if (c.hidden.has(m.seq)) continue;
      if (m.type === 'MESSAGE_TYPE_EVENT') {
        const text = systemText(m);
        if (text)
          rows.push(
            h('div', { class: 'system', 'data-testid': 'system-message', 'data-seq': m.seq }, text),
          );
        continue;
      }
      rows.push(renderMessage(m, this.messageContext(c)));
    }
    replace(el, rows);
    this.stuck = stick;
    if (stick) el.scrollTop = el.scrollHeight;
    else if (keepFromBottom) el.scrollTop = el.scrollHeight - fromBottom;
    this.drawTyping();
  }

  messageContext(c) {
    const receipt = this.receipts.get(c.id);
    return {
      me: this.client.userId,
      client: this.client,
      peerReadSeq: c.peer ? c.peerReadSeq : -1,
      groupReceipt: receipt,
      editing: this.editing,
      onReact: (m, emoji) => this.react(m, emoji),
      // An image that loads after the list was drawn grows it: stay at the bottom.
      onMediaLoaded: () => {
        if (this.stuck) this.messagesEl.scrollTop = this.messagesEl.scrollHeight;
      },
      onEdit: (m) => this.startEditing(m),
      onRecall: (m) => this.client.recall(c.id, m.seq).catch((e) => this.flash(e.message)),
    };
  }

  react(m, emoji) {
    const mine = (m.reactions ?? []).some(
      (r) => r.emoji === emoji && (r.userIds ?? []).includes(this.client.userId),
    );
    this.client.react(this.current, m.seq, emoji, !mine).catch((e) => this.flash(e.message));
  }

  startEditing(m) {
    this.editing = m.seq;
    this.input.value = m.content?.text ?? '';
    this.sendButton.textContent = 'Save';
    this.composer.classList.add('editing');
    this.input.focus();
    this.renderMessages();
  }

  stopEditing() {
    this.editing = 0;
    this.sendButton.textContent = 'Send';
    this.composer.classList.remove('editing');
    this.renderMessages();
  }

  async submit() {
    const text = this.input.value.trim();
    if (!text || !this.current) return;
    const id = this.current;
    const editing = this.editing;
    this.input.value = '';
    if (editing) this.stopEditing();
    try {
      if (editing) await this.client.edit(id, editing, text);
      else await this.client.sendText(id, text);
    } catch (e) {
      this.flash(e.message);
    }
  }

  async sendFile() {
    const file = this.fileInput.files?.[0];
    if (!file || !this.current) return;
    this.fileInput.value = '';
    try {
      await this.client.sendFile(this.current, file);
    } catch (e) {
      this.flash(`upload failed: ${e.message}`);
    }
  }

  // ---- typing ----

  sendTyping() {
    const c = this.current && this.client.conv(this.current);
    const now = Date.now();
    if (!c || !c.placed || now - this.lastTypingSent < TYPING_SEND_INTERVAL_MS) return;
    if (c.peer && c.delivered === 0) return; // the conversation does not exist yet
    this.lastTypingSent = now;
    this.client.typing(c.id).catch(() => {});
  }

  onTyping(t) {
    if (t.userId === this.client.userId) return;
    this.typingUntil.set(t.conversationId, { user: t.userId, until: Date.now() + TYPING_SHOWN_MS });
    this.drawTyping();
    setTimeout(() => this.drawTyping(), TYPING_SHOWN_MS + 50);
  }

  drawTyping() {
    const t = this.typingUntil.get(this.current);
    const on = t && t.until > Date.now();
    this.typingEl.textContent = on ? `${t.user} is typing…` : '';
    this.typingEl.dataset.typing = on ? t.user : '';
  }
}

function previewOf(m) {
  if (m.status === 'MESSAGE_STATUS_RECALLED') return 'message recalled';
  if (m.content?.text) return `${m.sender}: ${m.content.text}`;
  if (m.attachments?.length)
    return `${m.sender}: [${m.type === 'MESSAGE_TYPE_IMAGE' ? 'image' : 'file'}]`;
  return '';
}
