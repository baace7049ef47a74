import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConversationState,
  applyEventToTarget,
  initialBase,
  peerOf,
  singleConversationId,
} from '../conversation.js';

const text = (seq, sender = 'bob', t = `m${seq}`) => ({
  conversationId: 'single:alice:bob',
  seq,
  sender,
  type: 'MESSAGE_TYPE_TEXT',
  content: { text: t },
  version: 1,
});
const event = (seq, targetSeq, body, sender = 'bob') => ({
  conversationId: 'single:alice:bob',
  seq,
  sender,
  type: 'MESSAGE_TYPE_EVENT',
  event: { targetSeq, ...body },
  serverTimeMs: 1000 + seq,
});

test('1:1 conversation ids are the same from both sides, in byte order', () => {
  assert.equal(singleConversationId('bob', 'alice'), 'single:alice:bob');
  assert.equal(singleConversationId('alice', 'bob'), 'single:alice:bob');
  assert.equal(singleConversationId('B', 'a'), 'single:B:a');
  assert.equal(peerOf('single:alice:bob', 'alice'), 'bob');
  assert.equal(peerOf('single:alice:bob', 'bob'), 'alice');
  assert.equal(peerOf('group:X', 'bob'), '');
});

test('messages are delivered in seq order, once, across a gap', () => {
  const c = new ConversationState('single:alice:bob', 'alice');
  c.place(0);
  assert.deepEqual(
    c.accept(text(1)).added.map((m) => m.seq),
    [1],
  );
  const ahead = c.accept(text(3));
  assert.deepEqual(ahead.added, []);
  assert.equal(ahead.gap, true);
  assert.equal(c.delivered, 1);
  const filled = c.accept(text(2));
  assert.deepEqual(
    filled.added.map((m) => m.seq),
    [2, 3],
  );
  assert.equal(filled.gap, false);
  assert.deepEqual(c.accept(text(2)).added, [], 'a duplicate is dropped');
  assert.deepEqual(
    c.visibleMessages().map((m) => m.seq),
    [1, 2, 3],
  );
});

test('events change their targets and applying one twice changes nothing', () => {
  const c = new ConversationState('single:alice:bob', 'alice');
  c.place(0);
  c.accept(text(1, 'bob', 'hello'));
  c.accept(text(2, 'alice', 'hi'));
  const edit = event(3, 1, { edit: { content: { text: 'hello!' }, version: 2, historyKept: 1 } });
  assert.deepEqual(c.accept(edit).updated, [1]);
  assert.equal(c.messages.get(1).content.text, 'hello!');
  assert.equal(c.messages.get(1).status, 'MESSAGE_STATUS_EDITED');
  assert.deepEqual(
    c.messages.get(1).editHistory.map((e) => e.content.text),
    ['hello'],
  );
  assert.equal(applyEventToTarget(edit, c.messages.get(1)), false, 'same version again');

  c.accept(event(4, 2, { reaction: { emoji: '👍', add: true } }, 'bob'));
  c.accept(event(5, 2, { reaction: { emoji: '👍', add: true } }, 'carol'));
  assert.deepEqual(c.messages.get(2).reactions, [
    { emoji: '👍', count: 2, userIds: ['bob', 'carol'] },
  ]);
  c.accept(event(6, 2, { reaction: { emoji: '👍', add: false } }, 'bob'));
  assert.deepEqual(c.messages.get(2).reactions, [{ emoji: '👍', count: 1, userIds: ['carol'] }]);

  c.accept(event(7, 1, { recall: {} }));
  assert.equal(c.messages.get(1).status, 'MESSAGE_STATUS_RECALLED');
  assert.equal(c.messages.get(1).content, undefined);
  assert.deepEqual(
    c.visibleMessages().map((m) => m.seq),
    [1, 2],
    'events are not shown',
  );
});

test('delete for me hides the target only for the user it is visible to', () => {
  const mine = new ConversationState('single:alice:bob', 'alice');
  mine.place(0);
  mine.accept(text(1));
  const del = { ...event(2, 1, { deleteForMe: {} }, 'alice'), visibleTo: 'alice' };
  mine.accept(del);
  assert.deepEqual(mine.visibleMessages(), []);
  const theirs = new ConversationState('single:alice:bob', 'bob');
  theirs.place(0);
  theirs.accept(text(1));
  theirs.accept({ ...event(2, 0, { redacted: {} }), sender: '' });
  assert.deepEqual(
    theirs.visibleMessages().map((m) => m.seq),
    [1],
  );
});

test("unread counts other users' messages after the read cursor, not events", () => {
  const c = new ConversationState('single:alice:bob', 'alice');
  c.place(0);
  c.accept(text(1));
  c.accept(text(2, 'alice'));
  c.accept(text(3));
  c.accept(event(4, 1, { reaction: { emoji: 'x', add: true } }));
  assert.equal(c.unread(), 2);
  c.moveRead(1);
  assert.equal(c.unread(), 1);
  assert.equal(c.moveRead(0), false, 'read cursors only move forward');
  c.moveRead(4);
  assert.equal(c.unread(), 0);
});

test('unread below the loaded window comes from the bootstrap count', () => {
  const c = new ConversationState('single:alice:bob', 'alice');
  c.serverUnread = 10;
  c.serverMaxSeq = 100;
  assert.equal(c.unread(), 10, 'nothing loaded yet');
  c.place(95);
  for (let s = 96; s <= 100; s++) c.accept(text(s));
  assert.equal(c.unread(), 10, '5 in the window and 5 below it');
});

test('the first window holds the last messages and the unread ones, within a bound', () => {
  assert.equal(initialBase({ maxSeq: 1000, readSeq: 990 }, 50, 500), 950);
  assert.equal(initialBase({ maxSeq: 1000, readSeq: 700 }, 50, 500), 700);
  assert.equal(initialBase({ maxSeq: 1000, readSeq: 0 }, 50, 500), 500);
  assert.equal(initialBase({ maxSeq: 10, readSeq: 0 }, 50, 500), 0);
  assert.equal(initialBase({ maxSeq: 10, readSeq: 0, visibleFrom: 4 }, 50, 500), 3);
  // Nothing unread (say, only this user's own messages): the last window only.
  assert.equal(initialBase({ maxSeq: 1000, readSeq: 0, unread: 0 }, 50, 500), 950);
});

test('older pages extend the window downwards without applying their events again', () => {
  const c = new ConversationState('group:G', 'alice');
  c.place(10);
  c.accept({ ...text(11), conversationId: 'group:G' });
  assert.equal(c.hasOlder(), true);
  // The stored seq 9 already reflects the reaction event at seq 10.
  const page = [
    { ...text(9), reactions: [{ emoji: '👍', count: 1, userIds: ['bob'] }] },
    event(10, 9, { reaction: { emoji: '👍', add: true } }),
  ];
  const added = c.addOlder(page, 8);
  assert.deepEqual(
    added.map((m) => m.seq),
    [9, 10],
  );
  assert.equal(c.low, 8);
  assert.deepEqual(c.messages.get(9).reactions[0].userIds, ['bob']);
  c.skipInvisible(9);
  assert.equal(c.hasOlder(), false, 'nothing before the join point');
});
