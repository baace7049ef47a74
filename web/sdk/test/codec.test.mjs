import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeServerFrames, errorFromFrame, normalizeInt64 } from '../codec.js';

test('int64 fields become Numbers, map values and other strings stay', () => {
  const m = normalizeInt64({
    seq: '42',
    serverTimeMs: '1796035753704',
    attributes: { seq: 'not a number' },
    content: { text: '7' },
    reactions: [{ emoji: 'x', count: '3' }],
  });
  assert.equal(m.seq, 42);
  assert.equal(m.serverTimeMs, 1796035753704);
  assert.equal(m.attributes.seq, 'not a number');
  assert.equal(m.content.text, '7');
  assert.equal(m.reactions[0].count, 3);
});

test('a batch is unpacked into its frames, in order', () => {
  const frames = decodeServerFrames(
    JSON.stringify({ batch: [{ requestId: 'a', ok: {} }, { push: { messages: [{ seq: '2' }] } }] }),
  );
  assert.equal(frames.length, 2);
  assert.equal(frames[0].requestId, 'a');
  assert.equal(frames[1].push.messages[0].seq, 2);
  assert.equal(decodeServerFrames('{"requestId":"x","pong":{}}')[0].requestId, 'x');
});

test('error frames become FlareErrors with the code without its prefix', () => {
  const e = errorFromFrame({
    error: { code: 'ERROR_CODE_RATE_LIMITED', message: 'slow down', retryAfterMs: '250' },
  });
  assert.equal(e.code, 'RATE_LIMITED');
  assert.equal(e.retryAfterMs, 250);
  assert.match(e.message, /slow down/);
});
