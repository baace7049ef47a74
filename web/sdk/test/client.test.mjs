import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { FlareClient } from '../flare-client.js';
import { FakeServer } from './fake_server.mjs';

const open = new Set();
afterEach(() => {
  for (const c of open) c.close();
  open.clear();
});

function client(server, user, extra = {}) {
  const c = new FlareClient({
    url: 'ws://fake/ws',
    token: user,
    WebSocket: server.WebSocket,
    backoffMinMs: 5,
    backoffMaxMs: 20,
    requestTimeoutMs: 2000,
    ...extra,
  });
  open.add(c);
  return c;
}

/** Resolves once `predicate()` holds, checking after every event of `c`. */
function until(c, predicate, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}`));
    }, 3000);
    const check = () => {
      if (!predicate()) return;
      clearTimeout(timer);
      off();
      resolve();
    };
    const offs = ['messages', 'state', 'conversations'].map((t) => c.on(t, check));
    const off = () => offs.forEach((f) => f());
    check();
  });
}

/** Every seq a client delivered to the application for a conversation, in delivery order. */
function record(c, id) {
  const seqs = [];
  c.on('messages', (e) => {
    if (e.conversationId === id && !e.older) seqs.push(...e.added.map((m) => m.seq));
  });
  return seqs;
}

const ID = 'single:alice:bob';

test('a device that was away gets exactly what it missed, in order, and acks it', async () => {
  const server = new FakeServer();
  const alice = client(server, 'alice');
  const bob = client(server, 'bob');
  await alice.connect();
  await bob.connect();
  const seen = record(bob, ID);
  for (let i = 1; i <= 3; i++) await alice.sendText('bob', `live ${i}`);
  await until(bob, () => bob.conv(ID).delivered === 3, 'the live messages');

  bob.disconnect();
  assert.equal(bob.state, 'offline');
  for (let i = 1; i <= 5; i++) await alice.sendText('bob', `away ${i}`);
  await bob.reconnect();
  await until(bob, () => bob.conv(ID).delivered === 8, 'the missed messages');

  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(
    bob
      .conv(ID)
      .visibleMessages()
      .map((m) => m.content.text),
    ['live 1', 'live 2', 'live 3', 'away 1', 'away 2', 'away 3', 'away 4', 'away 5'],
  );
  const acks = server.received.filter((r) => r.user === 'bob' && r.frame.pushAck);
  assert.equal(Number(acks[acks.length - 1].frame.pushAck.seq), 8);
  alice.close();
  bob.close();
});

/** Bob online with seq 1 from alice delivered; `seen` records what he is given. */
async function bobWithSeq1(server) {
  const bob = client(server, 'bob');
  await bob.connect();
  const seen = record(bob, ID);
  await bob.bootstrap(); // the connect's catch-up is answered before this: no sync from it later
  server.store('alice', { peerUserId: 'bob', content: { text: '1' } });
  await until(bob, () => bob.conv(ID).delivered === 1, 'seq 1');
  return { bob, seen };
}

/** Stores alice's `texts` to bob without pushing them (their pushes are lost); returns the sockets. */
function storeUnpushed(server, texts) {
  const sockets = server.sockets;
  server.sockets = new Set();
  for (const text of texts) server.store('alice', { peerUserId: 'bob', content: { text } });
  server.sockets = sockets;
  return sockets;
}

test('a seq gap in pushes is filled by a sync before later messages are delivered', async () => {
  const server = new FakeServer();
  const { bob, seen } = await bobWithSeq1(server);
  storeUnpushed(server, ['2']); // seq 2 is stored but its push is lost; seq 3's push arrives
  server.store('alice', { peerUserId: 'bob', content: { text: '3' } });
  await until(bob, () => bob.conv(ID).delivered === 3, 'the gap filled');
  assert.deepEqual(seen, [1, 2, 3]);
  bob.close();
});

test('a login refused for now (UNAVAILABLE) is tried again', async () => {
  const server = new FakeServer();
  server.refuseLogins = 2;
  const bob = client(server, 'bob');
  await bob.connect();
  assert.equal(bob.state, 'online');
  assert.equal(server.refuseLogins, 0);
  const logins = server.received.filter((r) => r.frame.auth);
  assert.equal(logins.length, 3);
  bob.close();
});

test('a catch_up notice syncs what was stored while pushes could not reach the device', async () => {
  const server = new FakeServer();
  const { bob, seen } = await bobWithSeq1(server);
  // The server had no route to bob: seq 2 and 3 are stored, never pushed.
  for (const socket of storeUnpushed(server, ['2', '3'])) socket.deliver({ catchUp: {} });
  await until(bob, () => bob.conv(ID).delivered === 3, 'what was missed');
  assert.deepEqual(seen, [1, 2, 3]);
  bob.close();
});

test('a send whose connection dropped before the ack is retried with its client_msg_id: one message', async () => {
  const server = new FakeServer();
  const alice = client(server, 'alice');
  await alice.connect();
  let dropped = false;
  server.drop = (f, ws) => {
    if (!f.send || dropped) return false;
    dropped = true;
    // The server stores it, but the connection dies before the ack.
    server.handle({ ...ws, deliver() {}, user: ws.user }, f);
    server.cut('alice');
    return true;
  };
  const ack = await alice.sendText('bob', 'once');
  assert.equal(ack.seq, 1);
  assert.equal(server.conv(ID).messages.length, 1);
  assert.ok(alice.reconnects >= 1);
  const sends = server.received.filter((r) => r.frame.send);
  assert.equal(sends.length, 2);
  assert.equal(sends[0].frame.send.clientMsgId, sends[1].frame.send.clientMsgId);
  assert.deepEqual(
    alice
      .conv(ID)
      .visibleMessages()
      .map((m) => m.content.text),
    ['once'],
  );
  alice.close();
});

test('a request without a reply fails after its timeout', async () => {
  const server = new FakeServer();
  const alice = client(server, 'alice', { requestTimeoutMs: 50 });
  await alice.connect();
  server.drop = (f) => !!f.readCount;
  await assert.rejects(alice.readCount(ID, 1), (e) => e.code === 'TIMEOUT');
  alice.close();
});

test('an error reply rejects with its code', async () => {
  const server = new FakeServer();
  const alice = client(server, 'alice');
  await alice.connect();
  await assert.rejects(alice.readCount(ID, 1), (e) => e.code === 'BAD_FRAME');
  alice.close();
});

test('bootstrap places unread conversations and counts them; mark_read clears', async () => {
  const server = new FakeServer();
  for (let i = 0; i < 4; i++)
    server.store('alice', { peerUserId: 'bob', content: { text: `${i}` } });
  const bob = client(server, 'bob');
  await bob.connect();
  await until(bob, () => bob.conv(ID).delivered === 4, 'the catch-up');
  assert.equal(bob.conv(ID).unread(), 4);
  assert.equal(bob.conv(ID).peer, 'alice');
  await bob.markRead(ID);
  assert.equal(bob.conv(ID).unread(), 0);
  assert.equal(server.conv(ID).read.bob, 4);
  bob.close();
});

test("an edit of this device's own message applies to the copy it made from the ack", async () => {
  const server = new FakeServer();
  const alice = client(server, 'alice');
  const bob = client(server, 'bob');
  await alice.connect();
  await bob.connect();
  const ack = await alice.sendText('bob', 'draft');
  await until(bob, () => bob.conv(ID).delivered === 1, 'the message');
  await alice.edit(ID, ack.seq, 'final');
  await until(alice, () => alice.conv(ID).delivered === 2, 'the edit event');
  await until(bob, () => bob.conv(ID).delivered === 2, 'the edit event');
  for (const c of [alice, bob]) {
    const [m] = c.conv(ID).visibleMessages();
    assert.equal(m.content.text, 'final', c.userId);
    assert.equal(m.status, 'MESSAGE_STATUS_EDITED');
  }
});
