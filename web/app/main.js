// The demo chat's entry: sign in (a development token from
// POST /v1/dev/token for the chosen tenant, user and device), connect,
// show the chat.

import { FlareClient } from '../sdk/flare-client.js';
import { ChatView } from './chat.js';
import { postJson } from './dom.js';

const form = document.getElementById('signin');
const errorEl = document.getElementById('signin-error');

// Prefill from ?tenant=&user=&device= or the last sign-in of this tab.
const params = new URLSearchParams(location.search);
const saved = JSON.parse(sessionStorage.getItem('flare-signin') ?? '{}');
for (const name of ['tenant', 'user', 'device']) {
  const value = params.get(name) ?? saved[name];
  if (value) form.elements[name].value = value;
}
if (!form.elements.device.value) {
  form.elements.device.value = `web-${Math.random().toString(36).slice(2, 8)}`;
}

/** Fetches a client token; the WebSocket port comes with it. */
async function devToken(who) {
  return postJson('/v1/dev/token', { ...who, platform: 'web' });
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  errorEl.textContent = '';
  const who = {
    tenant: form.elements.tenant.value.trim() || 'default',
    user: form.elements.user.value.trim(),
    device: form.elements.device.value.trim(),
  };
  try {
    const first = await devToken(who);
    sessionStorage.setItem('flare-signin', JSON.stringify(who));
    let pending = first;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const client = new FlareClient({
      url: `${scheme}://${location.hostname}:${first.ws_port}/ws`,
      // A fresh token for every reconnect after the first.
      token: async () => {
        const t = pending ?? (await devToken(who));
        pending = null;
        return t.token;
      },
    });
    window.flare = client; // for the console and the browser tests
    const off = client.on('state', (state) => {
      if (state === 'connecting') errorEl.textContent = `Connecting to ${client.opt.url}…`;
    });
    await client.connect();
    off();
    document.getElementById('signin-panel').hidden = true;
    const root = document.getElementById('app');
    root.hidden = false;
    new ChatView(root, client).start();
  } catch (err) {
    errorEl.textContent = `Sign-in failed: ${err.message}`;
  }
});
