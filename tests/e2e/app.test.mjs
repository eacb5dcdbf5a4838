// tests/e2e/app.test.mjs — end-to-end test of the real Ballast desktop app.
//
// Why: unit tests can't show that the Tauri window actually starts, that the
// UI gets real numbers and a backend-drawn chart from the Rust side, or that
// Settings -> Sync works against a real PostgreSQL and the real keyring. This
// drives the built app like a person would, through tauri-driver 2.1.0
// (which wraps /usr/bin/WebKitWebDriver) over plain W3C WebDriver HTTP, using
// only Node's built-in test runner and fetch (no npm dependencies).
//
// Run it via `scripts/test` (or inside `scripts/with-services`, which provides
// a display, a D-Bus session with an unlocked keyring and PostgreSQL):
//   BALLAST_APP_BIN=$CARGO_TARGET_DIR/debug/ballast-app node --test tests/e2e/
// Env:
//   BALLAST_APP_BIN          the app binary (required)
//   TAURI_DRIVER             tauri-driver binary (default $BALLAST_CACHE/bin/tauri-driver)
//   BALLAST_E2E_PG_URL       if set, also test Settings -> Sync against this
//   BALLAST_E2E_PG_PASSWORD  ...with this password (typed into the UI)
//   BALLAST_E2E_PG_ADMIN_URL the same database as its owner: before the second sync a sync
//                            trigger is switched off there, and the app must say so
// Output: artifacts/screenshots/{overview,performance*,data,settings}.png, plus
// artifacts/e2e/tauri-driver.log (driver + app output) and failure-*.png/html.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHOTS = path.join(REPO, 'artifacts', 'screenshots');
const LOGS = path.join(REPO, 'artifacts', 'e2e');
const CACHE = process.env.BALLAST_CACHE || path.join(os.homedir(), '.cache', 'ballast');
const DRIVER = process.env.TAURI_DRIVER || path.join(CACHE, 'bin', 'tauri-driver');
const NATIVE_DRIVER = '/usr/bin/WebKitWebDriver';
const APP = process.env.BALLAST_APP_BIN;
const PG_URL = process.env.BALLAST_E2E_PG_URL;
const PG_PASSWORD = process.env.BALLAST_E2E_PG_PASSWORD ?? '';
const PG_ADMIN_URL = process.env.BALLAST_E2E_PG_ADMIN_URL;
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'; // W3C element id key

const FIRST_OPEN_MS = 120_000; // first open generates the demo workspace
const SYNC_MS = 120_000;

let driver; // tauri-driver child process
let driverLog; // its output (and the app's) goes here
let driverTail = ''; // ...and its last few KB, for error messages
let base; // http://127.0.0.1:PORT
let sessionId;
let workDir; // temp dir holding BALLAST_DB

// ------------------------------------------------------------------ helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sel = (testid) => `[data-testid="${testid}"]`;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** One W3C WebDriver call; returns `value`, throws with the driver's message. */
async function wd(method, urlPath, body, timeoutMs = 60_000) {
  let res, text;
  try {
    res = await fetch(base + urlPath, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await res.text();
  } catch (e) {
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000}s` : e.message;
    throw new Error(`${method} ${urlPath}: ${why}`, { cause: e });
  }
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${urlPath}: HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
  }
  const v = json.value;
  if (!res.ok || (v && typeof v === 'object' && 'error' in v)) {
    throw new Error(`${method} ${urlPath}: HTTP ${res.status} ${v?.error}: ${v?.message}`);
  }
  return v;
}

const s = (p) => `/session/${sessionId}${p}`;

async function findAll(css, fromId) {
  const where = fromId ? s(`/element/${fromId}/elements`) : s('/elements');
  const found = await wd('POST', where, { using: 'css selector', value: css });
  return found.map((e) => e[ELEMENT]);
}
const textOf = (id) => wd('GET', s(`/element/${id}/text`));
const click = (id) => wd('POST', s(`/element/${id}/click`), {});

/** Poll fn until it returns a truthy value; else fail saying what we waited for. */
async function waitFor(what, fn, timeoutMs = 30_000, everyMs = 500) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what} (last: ${JSON.stringify(last)})`);
    }
    await sleep(everyMs);
  }
}

async function one(css, fromId, timeoutMs = 30_000) {
  const ids = await waitFor(`element ${css}`, async () => {
    const found = await findAll(css, fromId);
    return found.length ? found : null;
  }, timeoutMs);
  return ids[0];
}

async function typeInto(testid, value) {
  const id = await one(sel(testid));
  await wd('POST', s(`/element/${id}/clear`), {});
  if (value) await wd('POST', s(`/element/${id}/value`), { text: value }); // '' is rejected
}

async function screenshot(file) {
  const b64 = await wd('GET', s('/screenshot'));
  const buf = Buffer.from(b64, 'base64');
  assert.ok(buf.subarray(1, 4).toString() === 'PNG', `screenshot ${file} is not a PNG`);
  fs.writeFileSync(file, buf);
  return buf.length;
}

async function goTo(screen) {
  await click(await one(sel(`nav-${screen}`)));
  await one(sel(`screen-${screen}`));
  await sleep(750); // let charts/fonts paint before a screenshot
}

/** Run a test body; on failure save a screenshot and the page source. */
function step(name, fn) {
  return async () => {
    try {
      await fn();
    } catch (err) {
      if (sessionId) {
        const slug = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
        await screenshot(path.join(LOGS, `failure-${slug}.png`)).catch(() => {});
        await wd('GET', s('/source'))
          .then((html) => fs.writeFileSync(path.join(LOGS, `failure-${slug}.html`), html))
          .catch(() => {});
      }
      throw err;
    }
  };
}

// If the runner is interrupted (it passes SIGTERM/SIGINT on to this file's
// process), still stop the driver and the app; `after` would not run.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killDriver().finally(() => {
      if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
      process.exit(128 + os.constants.signals[sig]);
    });
  });
}
process.on('exit', () => {
  if (driver && driver.exitCode === null && driver.signalCode === null) {
    try {
      process.kill(-driver.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

function killDriver() {
  if (!driver || driver.exitCode !== null || driver.signalCode !== null) return Promise.resolve();
  const exited = new Promise((r) => driver.once('exit', r));
  // tauri-driver was started as its own process group leader: signal the whole
  // group (tauri-driver, WebKitWebDriver and the app), by its id.
  const signal = (sig) => {
    try {
      process.kill(-driver.pid, sig);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 5_000);
  return exited.then(() => {
    clearTimeout(timer);
    signal('SIGKILL'); // leftovers of the group (the app, if it outlived its driver)
  });
}

// ------------------------------------------------------------------ set-up / teardown

before(async () => {
  assert.ok(APP, 'BALLAST_APP_BIN is not set: point it at the built app, e.g. $CARGO_TARGET_DIR/debug/ballast-app');
  assert.ok(fs.existsSync(APP), `BALLAST_APP_BIN=${APP} does not exist: build it with 'cargo build -p ballast-app'`);
  assert.ok(fs.existsSync(DRIVER), `tauri-driver not found at ${DRIVER}: run scripts/setup`);
  assert.ok(fs.existsSync(NATIVE_DRIVER), `${NATIVE_DRIVER} not found: apt-get install webkit2gtk-driver`);
  assert.ok(process.env.DISPLAY, 'DISPLAY is not set: run this under scripts/with-services');

  fs.mkdirSync(SHOTS, { recursive: true });
  fs.mkdirSync(LOGS, { recursive: true });
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ballast-e2e-'));
  const port = await freePort();
  const nativePort = await freePort();
  base = `http://127.0.0.1:${port}`;

  driverLog = fs.createWriteStream(path.join(LOGS, 'tauri-driver.log'));
  driver = spawn(
    DRIVER,
    ['--port', String(port), '--native-port', String(nativePort), '--native-driver', NATIVE_DRIVER],
    {
      // The app inherits this environment through WebKitWebDriver: a fresh
      // workspace file, so the first open generates the demo workspace, and
      // throw-away XDG dirs, so nothing touches the user's own app data.
      env: {
        ...process.env,
        BALLAST_DB: path.join(workDir, 'workspace.duckdb'),
        XDG_CONFIG_HOME: path.join(workDir, 'config'),
        XDG_DATA_HOME: path.join(workDir, 'data'),
        XDG_CACHE_HOME: path.join(workDir, 'cache'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group, so killDriver() reaches the app too
    },
  );
  for (const stream of [driver.stdout, driver.stderr]) {
    stream.pipe(driverLog, { end: false });
    stream.on('data', (chunk) => (driverTail = (driverTail + chunk).slice(-4_000)));
  }
  const spawnFailed = new Promise((_, reject) => driver.once('error', reject));
  spawnFailed.catch(() => {}); // reported through the race below

  try {
    await Promise.race([
      spawnFailed,
      waitFor('tauri-driver to answer GET /status', async () => {
        if (driver.exitCode !== null) return { exited: driver.exitCode };
        return (await fetch(`${base}/status`, { signal: AbortSignal.timeout(2_000) })).ok;
      }, 30_000, 250),
    ]);
    assert.equal(driver.exitCode, null, `tauri-driver exited with code ${driver.exitCode}`);

    const created = await wd('POST', '/session', {
      capabilities: { alwaysMatch: { 'tauri:options': { application: APP } } },
    }, FIRST_OPEN_MS + 60_000);
    sessionId = created.sessionId;
    assert.ok(sessionId, `no sessionId in the new-session answer: ${JSON.stringify(created)}`);
  } catch (err) {
    throw new Error(`${err.message}\n--- last output of tauri-driver / WebKitWebDriver / the app ---\n${driverTail}`, {
      cause: err,
    });
  }
});

after(async () => {
  if (sessionId) {
    await wd('DELETE', s(''), undefined, 30_000).catch((e) => console.error(`deleting the session: ${e.message}`));
    sessionId = undefined;
  }
  await killDriver();
  driverLog?.end();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ tests

test('overview shows the demo portfolios with NAV values', { timeout: FIRST_OPEN_MS + 60_000 }, step('overview', async () => {
  const cards = await waitFor('at least 3 portfolio cards on Overview', async () => {
    const found = await findAll(`${sel('screen-overview')} ${sel('portfolio-card')}`);
    return found.length >= 3 ? found : null;
  }, FIRST_OPEN_MS, 1_000);

  for (const card of cards) {
    const code = (await textOf(await one(sel('portfolio-code'), card))).trim();
    assert.ok(code, 'a portfolio card has an empty portfolio-code');
    const nav = (await textOf(await one(sel('nav-value'), card))).trim();
    assert.match(nav, /[A-Z]{3} [\d,]+\.\d{2}/, `portfolio ${code}: nav-value "${nav}" is not like "USD 512,345,678.12"`);
    for (const kpi of ['day-pl', 'ytd-pl']) {
      const t = (await textOf(await one(sel(kpi), card))).trim();
      assert.ok(t, `portfolio ${code}: ${kpi} is empty`);
    }
  }
  const sharpe = await findAll(sel('kpi-sharpe'));
  assert.ok(sharpe.length >= 1, 'no [data-testid="kpi-sharpe"] on Overview');
  // Each card states its risk limits: the breaches with severity, or that none is breached.
  for (const card of cards) {
    const breaches = await findAll(sel('limit-breach'), card);
    const ok = await findAll(sel('limits-ok'), card);
    assert.ok(breaches.length > 0 || ok.length === 1, 'a portfolio card says nothing about its risk limits');
  }

  const freshness = (await textOf(await one(sel('freshness')))).trim();
  assert.ok(freshness.length > 0, 'freshness text is empty: it should say where the data came from and when');
}));

test('overview has a backend-drawn monthly heatmap (svg with >= 12 rects)', { timeout: 90_000 }, step('heatmap', async () => {
  const heatmap = await one(sel('monthly-heatmap'));
  await one('svg', heatmap);
  const rects = await waitFor('>= 12 rect elements in the heatmap svg', async () => {
    const found = await findAll('svg rect', heatmap);
    return found.length >= 12 ? found : null;
  }, 30_000);
  assert.ok(rects.length >= 12, `heatmap svg has only ${rects.length} rect elements`);
}));

test('performance shows the catalogue, its charts, and recomputes on a new range', { timeout: 180_000 }, step('performance', async () => {
  await goTo('performance');
  const summary = async () => (await textOf(await one(sel('perf-summary')))).trim();
  const ytd = await waitFor('the YTD performance summary', async () => {
    const t = await summary();
    return /daily returns/.test(t) ? t : null;
  }, 60_000);
  for (const group of ['returns', 'risk', 'risk-adjusted', 'trading', 'exposure']) {
    await one(sel(`group-${group}`));
  }
  // Every KPI says how it is computed: the tooltip carries the documented formula.
  const sharpe = await one(sel('perf-kpi-sharpe'));
  const tip = await wd('GET', s(`/element/${sharpe}/attribute/title`));
  assert.match(tip, /√252/, `the Sharpe tooltip has no formula: ${tip}`);
  assert.match(tip, /kpi-conventions\.md/, `the Sharpe tooltip does not point to the conventions: ${tip}`);
  const beta = (await textOf(await one(sel('perf-kpi-beta')))).trim();
  assert.doesNotMatch(beta, /n\/a/, `beta against the benchmark is missing: ${beta}`);
  for (const chart of ['chart-cumulative', 'chart-drawdown']) {
    await one('svg', await one(sel(chart)));
  }
  await screenshot(path.join(SHOTS, 'performance.png'));

  await click(await one(sel('range-1y')));
  const oneYear = await waitFor('the summary to change for 1Y', async () => {
    const t = await summary();
    return t !== ytd && /daily returns/.test(t) ? t : null;
  }, 30_000);
  const days = Number(/(\d+) daily returns/.exec(oneYear)?.[1]);
  assert.ok(days > 240 && days < 270, `1Y should hold about a year of trading days: ${oneYear}`);
  await one(sel('drawdowns-table'));
  await screenshot(path.join(SHOTS, 'performance-1y.png'));
  // The tables below the charts: KPI groups, drawdowns, exposure.
  await wd('POST', s('/execute/sync'), {
    script: 'document.querySelector(arguments[0]).scrollIntoView()',
    args: [sel('group-risk')],
  });
  await sleep(300);
  await screenshot(path.join(SHOTS, 'performance-kpis.png'));
  await wd('POST', s('/execute/sync'), {
    script: 'document.querySelector(arguments[0]).scrollIntoView()',
    args: [sel('exposure')],
  });
  await sleep(300);
  await screenshot(path.join(SHOTS, 'performance-exposure.png'));
}));

test('scenarios compares library scenarios side by side with a position P/L heatmap', { timeout: 180_000 }, step('scenarios', async () => {
  await goTo('scenarios');
  const columns = async () => (await findAll(`${sel('scen-summary')} thead th`)).length - 1;
  await waitFor('two scenarios compared by default', async () => ((await columns()) === 2 ? true : null), 60_000);
  const cells = await findAll(sel('scen-cell'));
  assert.ok(cells.length >= 2 * 10, `heatmap cells: ${cells.length}`);
  const summary = (await textOf(await one(sel('scen-summary')))).trim();
  assert.match(summary, /NAV after/);
  // Add a third scenario and run again.
  await click(await one(sel('scen-pick-equities_down_20')));
  await click(await one(sel('scen-run')));
  await waitFor('three scenarios compared', async () => ((await columns()) === 3 ? true : null), 60_000);
  const header = (await textOf(await one(`${sel('scen-summary')} thead`))).trim();
  assert.match(header, /quit/i, `the equities scenario is a column: ${header}`);
  await screenshot(path.join(SHOTS, 'scenarios.png'));

  // Monte Carlo over 10 days: both confidence levels, losses.
  await click(await one(sel('mc-run')));
  const mc = await waitFor('the Monte Carlo table', async () => {
    const found = await findAll(sel('mc-table'));
    return found.length ? (await textOf(found[0])).trim() : null;
  }, 60_000);
  assert.match(mc, /95%\s*-\d/, mc);
  assert.match(mc, /99%\s*-\d/, mc);

  // Build one: an absurd shift is refused as it is typed, a sane one previews its P/L.
  const status = async () => (await textOf(await one(sel('build-status')))).trim();
  await typeInto('build-name', 'desk rates shock');
  await typeInto('build-bp', '3000');
  const refused = await waitFor('the builder to refuse 3000 bp', async () => {
    const t = await status();
    return /outside/.test(t) ? t : null;
  }, 30_000);
  assert.match(refused, /shock #1 \(parallel_rate\): bp/, refused);
  await typeInto('build-bp', '150');
  const preview = await waitFor('the builder to preview 150 bp', async () => {
    const t = await status();
    return /^Valid\. P\/L /.test(t) ? t : null;
  }, 30_000);
  assert.match(preview, /NAV after/, preview);
  await click(await one(sel('build-add')));
  await click(await one(sel('build-save')));
  const saved = await waitFor('the saved scenario to be compared', async () => {
    const t = (await textOf(await one(`${sel('scen-summary')} thead`))).trim();
    return /desk rates shock/.test(t) ? t : null;
  }, 60_000);
  assert.match(saved, /desk rates shock/);
  await screenshot(path.join(SHOTS, 'scenarios-built.png'));

  // The library: duplicate the saved scenario, then delete the copy (two clicks).
  const library = async () => (await textOf(await one(sel('scen-library')))).trim();
  await click(await one(sel('scen-duplicate-desk rates shock')));
  await waitFor('the copy in the library', async () => (/desk rates shock copy/.test(await library()) ? true : null), 30_000);
  await click(await one(sel('scen-delete-desk rates shock copy')));
  await click(await one(sel('scen-delete-desk rates shock copy')));
  await waitFor('the copy gone from the library', async () => (/desk rates shock copy/.test(await library()) ? null : true), 30_000);
  assert.match(await library(), /desk rates shock \(saved\)/);

  // A second version of the same name, then its two versions side by side.
  await typeInto('build-name', 'desk rates shock');
  await typeInto('build-bp', '250');
  await waitFor('the builder to preview 250 bp', async () => (/^Valid\. P\/L /.test(await status()) ? true : null), 30_000);
  await click(await one(sel('build-add')));
  await click(await one(sel('build-save')));
  await waitFor('version 2 in the library', async () => (/v2 of 2/.test(await library()) ? true : null), 60_000);
  await click(await one(sel('scen-versions-desk rates shock')));
  const versions = await waitFor('both versions compared', async () => {
    const t = (await textOf(await one(`${sel('scen-summary')} thead`))).trim();
    return /desk rates shock v1/.test(t) && /desk rates shock v2/.test(t) ? t : null;
  }, 60_000);
  assert.equal(await columns(), 2, `two versions: ${versions}`);
  const shocks = (await textOf(await one(sel('scen-summary')))).trim();
  assert.match(shocks, /#1 parallel rate \+150 bp/, shocks);
  assert.match(shocks, /#1 parallel rate \+250 bp/, shocks);

  // The trace: which shock moved the position that moves most, and by how much.
  await click((await findAll(sel('scen-cell')))[0]);
  const traced = await waitFor('the trace of a cell', async () => {
    const lines = await findAll(`${sel('scen-trace-lines')} li`);
    return lines.length ? (await textOf(await one(sel('scen-trace')))).trim() : null;
  }, 30_000);
  assert.match(traced, /under desk rates shock v1/, traced);
  assert.match(traced, /#1 parallel rate \+150 bp: [+-]\d+\.\d\d% = [A-Z]{3} -?[\d,]+\.\d\d/, traced);
  await screenshot(path.join(SHOTS, 'scenarios-versions.png'));
  await wd('POST', s('/execute/sync'), {
    script: 'document.querySelector(arguments[0]).scrollIntoView({ block: "end" })',
    args: [sel('scen-trace')],
  });
  await sleep(300);
  await screenshot(path.join(SHOTS, 'scenarios-trace.png'));
}));

test('liquidity shows the ladder, its chart and the waterfall, then stressed by a redemption run', { timeout: 180_000 }, step('liquidity', async () => {
  await goTo('liquidity');
  const rows = await waitFor('six ladder buckets (T+1 … beyond)', async () => {
    const found = await findAll(sel('ladder-row'));
    return found.length === 6 ? found : null;
  }, 60_000);
  assert.match((await textOf(rows[0])).trim(), /^T\+1/);
  const chartRects = await findAll(`${sel('liq-chart')} rect`);
  assert.ok(chartRects.length >= 12, `the ladder chart has bars: ${chartRects.length} rects`);
  const waterfall = (await textOf(await one(sel('liq-waterfall')))).trim();
  assert.match(waterfall, /Days to sell/);
  const base = (await textOf(await one(sel('liq-summary')))).trim();
  assert.match(base, /Days to liquidate 90% of NAV: /, base);
  await screenshot(path.join(SHOTS, 'liquidity.png'));
  // Stress it: the table gains the stressed columns and the summary the stressed days.
  await wd('POST', s('/execute/sync'), {
    script: 'const s = document.querySelector(arguments[0]); s.value = arguments[1]; s.dispatchEvent(new Event("change"));',
    args: [sel('liq-scenario'), 'redemption_run_25'],
  });
  const stressed = await waitFor('the stressed ladder', async () => {
    const t = (await textOf(await one(sel('liq-summary')))).trim();
    return /stressed: /.test(t) ? t : null;
  }, 60_000);
  assert.match(stressed, /stressed: /);
  const header = (await textOf(await one(`${sel('liq-ladder')} thead`))).trim();
  assert.match(header, /Stressed redemptions/, header);
  await screenshot(path.join(SHOTS, 'liquidity-stressed.png'));
  // The portfolio's own buckets: three, plus beyond.
  await typeInto('liq-buckets', '1,7,30');
  await click(await one(sel('liq-apply')));
  await waitFor('four ladder buckets', async () => ((await findAll(sel('ladder-row'))).length === 4 ? true : null), 60_000);
}));

test('screenshots of overview, data and settings', { timeout: 180_000 }, step('screenshots', async () => {
  for (const screen of ['overview', 'data', 'settings']) {
    await goTo(screen);
    const file = path.join(SHOTS, `${screen}.png`);
    const bytes = await screenshot(file);
    assert.ok(bytes > 1_000, `${file} is suspiciously small (${bytes} bytes)`);
  }
}));

test('settings -> sync from PostgreSQL', {
  skip: PG_URL ? false : 'BALLAST_E2E_PG_URL is not set',
  timeout: SYNC_MS + 120_000,
}, step('sync', async () => {
  await goTo('settings');
  await typeInto('pg-url', PG_URL);
  await typeInto('pg-password', PG_PASSWORD);
  await click(await one(sel('save-settings')));
  await waitFor('sync-status to say "Saved."', async () => {
    const t = (await textOf(await one(sel('sync-status')))).trim();
    if (/not saved/i.test(t)) throw new Error(t);
    return t === 'Saved.';
  }, 30_000);
  await click(await one(sel('sync-now')));
  let failure;
  const status = await waitFor('sync-status to say "synced"', async () => {
    const t = (await textOf(await one(sel('sync-status')))).trim();
    if (/\b(error|failed)\b/i.test(t)) return (failure = t); // stop waiting: it failed
    return /synced/i.test(t) && !/\b(never|not)\b/i.test(t) ? t : null;
  }, SYNC_MS, 1_000);
  assert.equal(failure, undefined, `sync failed, sync-status says: "${failure}"`);
  assert.match(status, /synced/i);
  assert.match(status, / 0 deleted/, `replacing the demo is not deleting: ${status}`);
  await screenshot(path.join(SHOTS, 'settings-synced.png'));
  if (PG_PASSWORD) {
    // The password went to the keychain: no screen, field or IPC reply may show it again.
    const html = await wd('GET', s('/source'));
    assert.ok(!html.includes(PG_PASSWORD), 'the Postgres password is visible in the page after saving');
    for (const file of fs.readdirSync(workDir, { recursive: true })) {
      const full = path.join(workDir, String(file));
      if (!fs.statSync(full).isFile()) continue;
      assert.ok(!fs.readFileSync(full).includes(PG_PASSWORD), `the Postgres password was written to ${full}`);
    }
  }

  await goTo('overview');
  const freshness = await waitFor('freshness to mention "synced"', async () => {
    const t = (await textOf(await one(sel('freshness')))).trim();
    return /synced/i.test(t) ? t : null;
  }, 30_000);
  assert.match(freshness, /synced/i, `freshness after sync: "${freshness}"`);
  const cards = await waitFor('portfolio cards after the sync', async () => {
    const found = await findAll(sel('portfolio-card'));
    return found.length >= 3 ? found : null;
  }, 60_000);
  assert.ok(cards.length >= 3, 'the synced overview shows the seeded portfolios');
  await screenshot(path.join(SHOTS, 'overview-synced.png'));

  // Data: the run is in the history with its verification; a note waits in the outbox...
  await goTo('data');
  const history = (await textOf(await one(sel('sync-history')))).trim();
  assert.match(history, /succeeded/, `sync history: ${history}`);
  assert.match(history, /passed: 14 of 14 tables \(full\)/, `verification in the history: ${history}`);
  const code = (await textOf(await one(sel('data-source')))).trim();
  assert.ok(code.length > 0);
  await typeInto('note-portfolio', process.env.BALLAST_E2E_NOTE_PORTFOLIO ?? 'GLOBAL-MACRO');
  await typeInto('note-symbol', process.env.BALLAST_E2E_NOTE_SYMBOL ?? '');
  await typeInto('note-body', 'trim on strength');
  await click(await one(sel('note-add')));
  const waiting = await waitFor('the note to wait in the outbox', async () => {
    const items = await findAll(sel('outbox-item'));
    if (items.length > 0) return (await textOf(items[0])).trim();
    const note = (await textOf(await one(sel('note-status')))).trim();
    if (note) throw new Error(`the note was refused: ${note}`);
    return null;
  }, 30_000);
  assert.match(waiting, /pending.*trim on strength/, `outbox row: ${waiting}`);
  const banner = (await textOf(await one(sel('freshness')))).trim();
  assert.match(banner, /1 waiting to send/, `banner: ${banner}`);
  await screenshot(path.join(SHOTS, 'data-outbox.png'));

  // A scenario run published from the Scenarios screen waits alongside it.
  await goTo('scenarios');
  const publish = await waitFor('a publish button', async () => {
    const found = await findAll('[data-testid^="scen-publish-"]');
    return found.length ? found[0] : null;
  }, 60_000);
  await click(publish);
  await waitFor('the run queued', async () => (/queued/.test(await textOf(publish)) ? true : null), 30_000);
  const note = (await textOf(await one(sel('scen-note')))).trim();
  assert.match(note, /waiting in the outbox/, note);
  const banner2 = await waitFor('the banner to count two', async () => {
    const t = (await textOf(await one(sel('freshness')))).trim();
    return /2 waiting to send/.test(t) ? t : null;
  }, 30_000);
  assert.match(banner2, /2 waiting to send/);

  // ...until the next sync delivers it; that sync is incremental. Meanwhile the database's
  // owner switches a sync trigger off (a bulk load, say): the run must say so, in Settings and
  // in the history, since writes to that table may now leave no trace.
  if (PG_ADMIN_URL) {
    execFileSync('psql', [PG_ADMIN_URL, '-qX', '-v', 'ON_ERROR_STOP=1', '-c',
      'ALTER TABLE prices DISABLE TRIGGER prices_updated_at']);
  }
  await goTo('settings');
  await click(await one(sel('sync-now')));
  const second = await waitFor('the second sync to finish', async () => {
    const t = (await textOf(await one(sel('sync-status')))).trim();
    if (/\b(failed|cancelled)\b/i.test(t)) throw new Error(t);
    return /^synced from/.test(t) ? t : null;
  }, SYNC_MS, 1_000);
  assert.match(second, /\(incremental\)/, `second sync: ${second}`);
  const details = (await textOf(await one(sel('sync-details')))).trim();
  assert.match(details, /Outbox: 2 sent/, `sync details: ${details}`);
  const triggerOff = /prices: prices_updated_at is disabled, so some writes to it may leave no trace/;
  if (PG_ADMIN_URL) assert.match(details, triggerOff, `sync details: ${details}`);
  await goTo('data');
  await one(sel('outbox-empty'));
  if (PG_ADMIN_URL) {
    const runs = (await textOf(await one(sel('sync-history')))).trim();
    assert.match(runs, triggerOff, `sync history: ${runs}`);
  }
  await screenshot(path.join(SHOTS, 'data-synced.png'));
}));
