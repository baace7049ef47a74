// Reads the Prometheus text exposition format (what /v1/admin/metrics
// answers) and turns successive scrapes into rates and latencies.

/**
 * @param {string} text
 * @returns {Map<string, Array<{labels: Record<string,string>, value: number}>>} samples by metric name
 */
export function parsePrometheus(text) {
  const out = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
      }
    }
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    if (!out.has(m[1])) out.set(m[1], []);
    out.get(m[1]).push({ labels, value });
  }
  return out;
}

/** Sum of a metric over all its label sets (0 when absent). */
export function total(samples, name) {
  return (samples.get(name) ?? []).reduce(
    (s, x) => s + (Number.isFinite(x.value) ? x.value : 0),
    0,
  );
}

/** Cumulative histogram buckets summed over label sets: [{le, count}] by le. */
export function buckets(samples, name) {
  const byLe = new Map();
  for (const s of samples.get(`${name}_bucket`) ?? []) {
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/**
 * The q-quantile of the observations between two scrapes of a histogram
 * (linear within the bucket, as Prometheus' histogram_quantile); NaN when
 * nothing was observed.
 */
export function quantileBetween(before, after, name, q) {
  const b0 = new Map(buckets(before, name).map((b) => [b.le, b.count]));
  const diff = buckets(after, name).map((b) => ({
    le: b.le,
    count: b.count - (b0.get(b.le) ?? 0),
  }));
  const n = diff.length ? diff[diff.length - 1].count : 0;
  if (n <= 0) return NaN;
  const rank = q * n;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of diff) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket > 0 ? prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket : b.le;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/**
 * What the admin charts plot between two scrapes taken dtSeconds apart:
 * messages stored per second, the mean and p95 of send-to-ack latency in
 * milliseconds (NaN when no send was acked), connections now.
 */
export function pointBetween(before, after, dtSeconds) {
  const rate =
    Math.max(
      0,
      total(after, 'flare_messages_stored_total') - total(before, 'flare_messages_stored_total'),
    ) / dtSeconds;
  const n =
    total(after, 'flare_send_to_ack_seconds_count') -
    total(before, 'flare_send_to_ack_seconds_count');
  const sum =
    total(after, 'flare_send_to_ack_seconds_sum') - total(before, 'flare_send_to_ack_seconds_sum');
  return {
    rate,
    meanMs: n > 0 ? (1000 * sum) / n : NaN,
    p95Ms: 1000 * quantileBetween(before, after, 'flare_send_to_ack_seconds', 0.95),
    connections: total(after, 'flare_connections_authenticated'),
  };
}
