// What the console's browser test needs around the browser: a real
// `flare serve` on free ports with a temporary data directory, serving the
// console from web/; a PNG made here (no fixture files); text polling of
// the page without fixed sleeps.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

/**
 * A business server's hook endpoint: answers every POST with an empty 200
 * (allow) and counts the calls.
 * @returns {Promise<{url: string, calls: () => number, close: () => void}>}
 */
export async function startHookReceiver() {
  let calls = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      calls++;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    calls: () => calls,
    close: () => server.close(),
  };
}

/**
 * Starts `flare serve` with ports 0 (the server picks free ones and prints
 * them on its "flare listening" line).
 * @returns {Promise<{httpPort: number, wsPort: number, base: string, stop: () => Promise<void>, log: () => string}>}
 */
export async function startFlare(binary, webDir, { extraConfig = '', timeoutMs = 15000 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flare-browser-'));
  const config = path.join(dir, 'flare.toml');
  fs.writeFileSync(
    config,
    `[server]
data_dir = ${JSON.stringify(path.join(dir, 'data'))}
bind_address = "127.0.0.1"
http_port = 0
ws_port = 0
quic_port = 0
io_threads = 1

[console]
root = ${JSON.stringify(webDir)}
dev_tokens = "loopback"

[media]
backend = "filesystem"

[log]
level = "warn"
${extraConfig}`,
  );
  // FLARE_* variables are configuration keys to flare: none leak in from the caller.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('FLARE_')),
  );
  const child = spawn(binary, ['serve', '--config', config], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ports = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`flare serve did not start:\n${output}`)),
      timeoutMs,
    );
    const onData = (d) => {
      output += d;
      const m = /flare listening ws_port=(\d+) http_port=(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ wsPort: Number(m[1]), httpPort: Number(m[2]) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`flare serve exited (${code}):\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    ...ports,
    base: `http://127.0.0.1:${ports.httpPort}`,
    log: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A width x height RGB PNG with a diagonal gradient (large enough to get a thumbnail). */
export function makePng(width = 640, height = 480) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      raw[row + 1 + x * 3] = (x * 255) / width;
      raw[row + 2 + x * 3] = (y * 255) / height;
      raw[row + 3 + x * 3] = 160;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Waits until the texts of `selector` in the page equal `expected` (in order). */
export async function waitForTexts(page, selector, expected, timeout = 15000) {
  try {
    await page.waitForFunction(
      ([sel, want]) =>
        JSON.stringify([...document.querySelectorAll(sel)].map((e) => e.textContent.trim())) ===
        want,
      [selector, JSON.stringify(expected)],
      { timeout },
    );
  } catch (e) {
    const got = await page.$$eval(selector, (els) => els.map((x) => x.textContent.trim()));
    throw new Error(`${selector}: wanted ${JSON.stringify(expected)}, have ${JSON.stringify(got)}`);
  }
}
