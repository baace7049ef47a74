// The admin view: online users, message rate and latency charts from the
// server's metrics, hooks and their statistics, tenants' API keys. Signs in
// with an admin token from POST /v1/dev/token (loopback development setups).

import { drawLineChart } from './charts.js';
import { h, postJson, replace } from './dom.js';
import { parsePrometheus, pointBetween } from './prometheus.js';

const params = new URLSearchParams(location.search);
const POLL_MS = Number(params.get('poll_ms')) || 2000;
const WINDOW_MS = 120000;
const $ = (id) => document.getElementById(id);

let token = '';
const history = []; // {t, rate, meanMs, p95Ms, connections}
let lastScrape = null; // {t, samples}

async function api(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: { Authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
  });
  const type = res.headers.get('Content-Type') ?? '';
  const body = type.includes('json') ? await res.json().catch(() => ({})) : await res.text();
  if (!res.ok) throw new Error(body?.error?.message ?? `${path}: ${res.status} ${res.statusText}`);
  return body;
}

function showError(e) {
  $('admin-error').textContent = e ? e.message : '';
}

async function pollMetrics() {
  const text = await api('/v1/admin/metrics');
  const now = { t: Date.now(), samples: parsePrometheus(text) };
  if (lastScrape) {
    const p = pointBetween(lastScrape.samples, now.samples, (now.t - lastScrape.t) / 1000);
    history.push({ t: now.t, ...p });
    while (history.length && history[0].t < now.t - WINDOW_MS) history.shift();
  }
  lastScrape = now;
  drawCharts();
}

function drawCharts() {
  const pts = (key) => history.map((p) => ({ t: p.t, v: p[key] }));
  // The charts span what was scraped so far: 30 s at first, up to WINDOW_MS.
  const span = history.length ? Date.now() - history[0].t + POLL_MS : 0;
  const windowMs = Math.min(WINDOW_MS, Math.max(30000, span));
  drawLineChart($('chart-rate'), [{ name: 'messages/s', color: '#2563eb', points: pts('rate') }], {
    windowMs,
  });
  drawLineChart(
    $('chart-latency'),
    [
      { name: 'mean', color: '#16a34a', points: pts('meanMs') },
      { name: 'p95', color: '#dc2626', points: pts('p95Ms') },
    ],
    { windowMs, unit: ' ms' },
  );
  const last = history[history.length - 1];
  if (last) {
    $('rate-now').textContent = `${last.rate.toFixed(1)}/s`;
    const timed = history.filter((p) => Number.isFinite(p.meanMs)).pop();
    $('latency-now').textContent = timed ? `${timed.meanMs.toFixed(1)} ms` : '–';
  }
}

async function pollOnline() {
  const tenant = $('online-form').elements.tenant.value.trim() || 'default';
  const body = await api(`/v1/admin/online?tenant=${encodeURIComponent(tenant)}`);
  const users = body.users ?? [];
  $('online-count').textContent = `${users.length} online`;
  replace(
    $('online-users'),
    users.map((u) =>
      h(
        'tr',
        { 'data-testid': 'online-user', 'data-user': u.user_id },
        h('td', {}, u.user_id),
        h(
          'td',
          {},
          Array.isArray(u.devices) ? u.devices.map(deviceName).join(', ') : String(u.devices ?? ''),
        ),
        h('td', {}, (u.platforms ?? []).join(', ')),
      ),
    ),
  );
}

function deviceName(d) {
  if (typeof d === 'string') return d;
  return [d.device ?? d.device_id, d.platform].filter(Boolean).join(' / ');
}

async function loadHooks() {
  const body = await api('/v1/hooks');
  const stats = new Map((body.stats ?? []).map((s) => [s.name, s]));
  replace(
    $('hooks'),
    (body.hooks ?? []).map((hook) => {
      const s = stats.get(hook.name) ?? {};
      // Statistics are proto3 JSON (lowerCamelCase, int64 as strings).
      const field = (camel, snake) => Number(s[camel] ?? s[snake] ?? 0);
      const calls = field('latencyCount', 'latency_count');
      const sum = field('latencySumSeconds', 'latency_sum_seconds');
      const mean = calls > 0 ? `${((1000 * sum) / calls).toFixed(1)} ms` : '–';
      return h(
        'tr',
        { 'data-testid': 'hook', 'data-hook': hook.name },
        [
          hook.name,
          hook.point,
          hook.url,
          field('calls', 'calls'),
          field('failures', 'failures'),
          field('timeouts', 'timeouts'),
          field('rejections', 'rejections'),
          field('deadLetters', 'dead_letters'),
          mean,
        ].map((v, i) => h('td', i === 3 ? { 'data-testid': 'hook-calls' } : {}, v)),
      );
    }),
  );
  if (!(body.hooks ?? []).length)
    replace(
      $('hooks'),
      h('tr', {}, h('td', { colspan: 9, class: 'hint' }, 'No hooks configured.')),
    );
}

async function loadKeys() {
  const body = await api('/v1/admin/apikeys');
  replace(
    $('apikeys'),
    (body.keys ?? []).map((k) =>
      h(
        'tr',
        {
          'data-testid': 'apikey',
          'data-key-id': k.id,
          'data-revoked': k.revoked ? 'true' : 'false',
        },
        h('td', {}, h('code', {}, k.id)),
        h('td', {}, k.tenant),
        h('td', {}, (k.scopes ?? []).join(', ')),
        h('td', {}, k.created_ms ? new Date(k.created_ms).toLocaleString() : ''),
        h('td', {}, k.revoked ? 'revoked' : 'active'),
        h(
          'td',
          {},
          !k.revoked &&
            h(
              'button',
              { 'data-testid': 'apikey-revoke', onclick: () => revokeKey(k.id) },
              'Revoke',
            ),
        ),
      ),
    ),
  );
}

async function revokeKey(id) {
  try {
    await api(`/v1/admin/apikeys/${encodeURIComponent(id)}`, { method: 'DELETE' });
    await loadKeys();
  } catch (e) {
    showError(e);
  }
}

$('apikey-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target.elements;
  try {
    const scopes = f.scopes.value.split(/[\s,]+/).filter(Boolean);
    const created = await postJson(
      '/v1/admin/apikeys',
      { tenant: f.tenant.value.trim(), scopes },
      token,
    );
    replace(
      $('apikey-new'),
      'New key (shown once): ',
      h('code', { class: 'key', 'data-testid': 'apikey-secret' }, created.key),
    );
    await loadKeys();
  } catch (err) {
    showError(err);
  }
});

$('online-form').addEventListener('submit', (e) => {
  e.preventDefault();
  pollOnline().catch(showError);
});

/** Runs fn now and every POLL_MS, never two at once. */
function every(fn) {
  const run = async () => {
    try {
      await fn();
    } catch (e) {
      showError(e);
    }
    setTimeout(run, POLL_MS);
  };
  run();
}

async function start() {
  try {
    const t = await postJson('/v1/dev/token', { admin: true });
    token = t.token;
    $('admin-state').textContent = 'signed in';
    document.body.dataset.ready = 'true';
  } catch (e) {
    $('admin-state').textContent = 'not signed in';
    showError(new Error(`admin token: ${e.message}`));
    return;
  }
  every(pollMetrics);
  every(pollOnline);
  every(loadHooks);
  loadKeys().catch(showError);
}

addEventListener('resize', drawCharts);
start();
