// ctest's entry for the console's browser test (tests/CMakeLists.txt,
// BrowserConsole): node run.mjs <flare binary> <web dir> <screenshot dir>.
// Exits 77 (ctest SKIP_RETURN_CODE) saying why when Chromium or
// playwright-core (scripts/setup installs it into node_modules) is missing;
// otherwise runs console.test.mjs with node --test and returns its status.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [binary, webDir, screenshots] = process.argv.slice(2);
const chromium = process.env.BROWSER_TEST_CHROMIUM ?? '/usr/bin/chromium';
const SKIP = 77;

if (!binary || !webDir || !screenshots) {
  console.error('usage: node run.mjs <flare binary> <web dir> <screenshot dir>');
  process.exit(2);
}
if (!fs.existsSync(chromium)) {
  console.log(
    `SKIPPED: no Chromium at ${chromium} (Debian package chromium; scripts/setup installs it)`,
  );
  process.exit(SKIP);
}
if (!fs.existsSync(path.join(here, 'node_modules', 'playwright-core'))) {
  console.log(
    `SKIPPED: ${here}/node_modules/playwright-core is missing (scripts/setup installs it: npm ci)`,
  );
  process.exit(SKIP);
}

const result = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', path.join(here, 'console.test.mjs')],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      BROWSER_TEST_FLARE: path.resolve(binary),
      BROWSER_TEST_WEB_DIR: path.resolve(webDir),
      BROWSER_TEST_SCREENSHOTS: path.resolve(screenshots),
      BROWSER_TEST_CHROMIUM: chromium,
    },
  },
);
process.exit(result.status ?? 1);
