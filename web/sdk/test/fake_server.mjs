// An in-process stand-in for the Flare gateway, enough of the protocol to
// test the SDK's connection logic without a network: auth (the token is the
// user id), send (deduped by client_msg_id), push to the members' other
// connections, push_ack, sync, bootstrap, mark_read. `drop` lets a test
// lose frames; `FakeWebSocket` is what the client is given as WebSocket.

import { singleConversationId } from '../conversation.js';

export class FakeServer {
  constructor() {
    this.convs = new Map(); // id -> {members, messages}
    this.sockets = new Set();
    this.sent = new Map(); // user/clientMsgId -> ack
    this.drop = () => false; // (frame) => true to never answer a client frame
    this.refuseLogins = 0; // logins to refuse for now (UNAVAILABLE) before accepting
    this.received = [];
    const server = this;
    this.WebSocket = class FakeWebSocket {
      constructor(url) {
        this.url = url;
        this.readyState = 0;
        this.user = '';
        server.sockets.add(this);
        setTimeout(() => {
          this.readyState = 1;
          this.onopen?.();
        }, 0);
      }
      send(text) {
        const f = JSON.parse(text);
        server.received.push({ user: this.user, frame: f });
        if (!server.drop(f, this)) setTimeout(() => server.handle(this, f), 0);
      }
      close(code = 1000, reason = '') {
        if (this.readyState === 3) return;
        this.readyState = 3;
        server.sockets.delete(this);
        setTimeout(() => this.onclose?.({ code, reason }), 0);
      }
      deliver(frame) {
        if (this.readyState === 1) this.onmessage?.({ data: JSON.stringify(frame) });
      }
    };
  }

  conv(id, members) {
    if (!this.convs.has(id)) this.convs.set(id, { members, messages: [], read: {} });
    return this.convs.get(id);
  }

  /** Stores a message as `sender` and pushes it; returns it. */
  store(sender, { conversationId, peerUserId, content }, exceptSocket, extra = {}) {
    const id = conversationId ?? singleConversationId(sender, peerUserId);
    const c = this.conv(id, peerUserId ? [sender, peerUserId] : [sender]);
    const m = {
      serverMsgId: `s${id}${c.messages.length + 1}`,
      conversationId: id,
      sender,
      seq: String(c.messages.length + 1),
      type: 'MESSAGE_TYPE_TEXT',
      content,
      serverTimeMs: String(Date.now()),
      ...extra,
    };
    c.messages.push(m);
    for (const s of this.sockets) {
      if (s !== exceptSocket && s.user && c.members.includes(s.user))
        s.deliver({ push: { messages: [m] } });
    }
    return m;
  }

  handle(ws, f) {
    const reply = (body) => ws.deliver({ requestId: f.requestId, ...body });
    if (f.auth) {
      if (this.refuseLogins > 0) {
        // As a gateway that cannot check the login now: an error, then close 1013.
        this.refuseLogins--;
        reply({ error: { code: 'ERROR_CODE_UNAVAILABLE', message: 'cannot log in now; retry' } });
        return ws.close(1013, 'cannot log in now; retry');
      }
      ws.user = f.auth.token;
      return reply({ authResult: { userId: ws.user, tenant: 'default', device: 'd' } });
    }
    if (f.send) {
      const key = `${ws.user}/${f.send.clientMsgId}`;
      if (!this.sent.has(key)) {
        const m = this.store(ws.user, f.send, ws);
        this.sent.set(key, {
          clientMsgId: f.send.clientMsgId,
          conversationId: m.conversationId,
          seq: m.seq,
          serverMsgId: m.serverMsgId,
        });
      }
      return reply({ sendAck: this.sent.get(key) });
    }
    if (f.sync) {
      const c = this.convs.get(f.sync.conversationId);
      const all = c ? c.messages : [];
      const after = Number(f.sync.afterSeq ?? 0);
      const limit = Number(f.sync.limit || 100);
      const page = all.filter((m) => Number(m.seq) > after).slice(0, limit);
      return reply({
        syncResult: {
          conversationId: f.sync.conversationId,
          messages: page,
          hasMore: page.length > 0 && Number(page[page.length - 1].seq) < all.length,
          maxSeq: String(all.length),
          visibleFromSeq: '1',
        },
      });
    }
    if (f.bootstrap) {
      const conversations = [...this.convs.entries()]
        .filter(([, c]) => c.members.includes(ws.user))
        .map(([id, c]) => ({
          conversationId: id,
          maxSeq: String(c.messages.length),
          readSeq: String(c.read[ws.user] ?? 0),
        }));
      return reply({ bootstrapResult: { conversations } });
    }
    if (f.markRead) {
      this.conv(f.markRead.conversationId).read[ws.user] = Number(f.markRead.seq);
      return reply({ ok: {} });
    }
    if (f.messageOp?.edit) {
      // As the server: the stored target starts at version 0, an edit's event carries target + 1.
      const op = f.messageOp;
      const c = this.convs.get(op.conversationId);
      const target = c.messages[Number(op.targetSeq) - 1];
      const version = (target.version ?? 0) + 1;
      target.version = version;
      target.content = op.edit.content;
      const m = this.store(ws.user, { conversationId: op.conversationId }, ws, {
        type: 'MESSAGE_TYPE_EVENT',
        event: { targetSeq: op.targetSeq, edit: { content: op.edit.content, version } },
      });
      return reply({ opAck: { conversationId: op.conversationId, seq: m.seq } });
    }
    if (f.pushAck || f.ping) return;
    reply({ error: { code: 'ERROR_CODE_BAD_FRAME', message: 'not in the fake' } });
  }

  /** Closes every connection of a user as a network failure would. */
  cut(user) {
    for (const s of [...this.sockets]) if (s.user === user) s.close(1006, 'cut');
  }
}
