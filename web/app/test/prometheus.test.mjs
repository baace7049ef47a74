import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheus, pointBetween, quantileBetween, total } from '../prometheus.js';

const scrape = (stored, count, sum, buckets) =>
  parsePrometheus(`# HELP flare_messages_stored_total Messages stored.
# TYPE flare_messages_stored_total counter
flare_messages_stored_total ${stored}
flare_connections_authenticated 3
flare_send_to_ack_seconds_bucket{le="0.005"} ${buckets[0]}
flare_send_to_ack_seconds_bucket{le="0.01"} ${buckets[1]}
flare_send_to_ack_seconds_bucket{le="+Inf"} ${buckets[2]}
flare_send_to_ack_seconds_sum ${sum}
flare_send_to_ack_seconds_count ${count}
flare_hook_calls_total{hook="a \\"b\\"",point="pre_send"} 2
flare_hook_calls_total{hook="c",point="post_send"} 5
`);

test('samples are read with their labels, escapes included', () => {
  const s = scrape(1, 0, 0, [0, 0, 0]);
  assert.equal(total(s, 'flare_messages_stored_total'), 1);
  assert.equal(total(s, 'flare_hook_calls_total'), 7);
  assert.equal(s.get('flare_hook_calls_total')[0].labels.hook, 'a "b"');
  assert.equal(s.get('flare_send_to_ack_seconds_bucket')[2].labels.le, '+Inf');
  assert.equal(total(s, 'absent'), 0);
});

test('rate, mean and p95 latency between two scrapes', () => {
  const before = scrape(10, 4, 0.02, [4, 4, 4]);
  // 20 more messages in 2 s; 10 acks: 8 under 5 ms, 2 between 5 and 10 ms.
  const after = scrape(30, 14, 0.08, [12, 14, 14]);
  const p = pointBetween(before, after, 2);
  assert.equal(p.rate, 10);
  assert.ok(Math.abs(p.meanMs - 6) < 1e-9);
  // rank 9.5 of 10: in the 5..10 ms bucket, 1.5 of its 2 observations in.
  assert.ok(Math.abs(p.p95Ms - 8.75) < 1e-9, `p95 ${p.p95Ms}`);
  assert.equal(p.connections, 3);
  assert.ok(Number.isNaN(pointBetween(after, after, 1).meanMs), 'no sends: no latency');
  assert.ok(Number.isNaN(quantileBetween(after, after, 'flare_send_to_ack_seconds', 0.5)));
});
