/*
 * dashboard.test.mjs - the dashboard in a real browser (test `browser_dashboard`).
 * Debian's chromium, driven by playwright-core (no browser download), against
 * the real fota-server and a simulated ESP32 (fota-device) on loopback:
 * a wrong token refused; log in; a refused upload shows the server's message;
 * upload a release (progress bar to 100 %); start a rollout; pause and resume
 * it through the confirmation dialog; the device updates while the page is
 * open and the rollout's bars reach "confirmed" without a reload; the device
 * page shows its timeline; the audit log lists the actions; text from the
 * database (a release version that looks like HTML) stays text; no CSP
 * violation or script error; the fleet page fits a 375 px screen.
 * Screenshots of every page go to OUT/screenshots (and to DOCS_IMG_DIR when
 * set: `make dashboard-screenshots` refreshes docs/img/).
 *
 * usage: node dashboard.test.mjs SERVER_BIN_DIR SIM_BIN_DIR OUT_DIR
 */
import {spawn, execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {chromium} from 'playwright-core';

const [serverDir, simDir, outDir] = process.argv.slice(2).map((p) => path.resolve(p));
if (process.argv.length < 5) {
  console.error('usage: node dashboard.test.mjs SERVER_BIN_DIR SIM_BIN_DIR OUT_DIR');
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TOKEN = 'browser-test-token-0123456789abcdef';
const XSS_VERSION = '<img src=x onerror=alert(1)>';
const shots = path.join(outDir, 'screenshots');
const docsDir = process.env.DOCS_IMG_DIR || '';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fota-browser-'));
const bin = (dir, name) => path.join(dir, name);
const problems = [];
let server, browser, stopping = false;

function step(what) {
  console.log(`-- ${what}`);
}

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, {cwd: work, encoding: 'utf8', ...opts});
}

async function startServer() {
  fs.writeFileSync(path.join(work, 'admin.token'), `${TOKEN}\n`);
  const log = fs.openSync(path.join(work, 'server.log'), 'w');
  server = spawn(bin(serverDir, 'fota-server'), [
    '--db', 'fota.sqlite', '--data', 'data', '--master-key-file', 'master.key',
    '--admin-token-file', 'admin.token', '--listen', '127.0.0.1', '--port', '0',
    '--port-file', 'port', '--rollout-tick', '1', '--log-level', 'warn',
  ], {cwd: work, stdio: ['ignore', 'ignore', log]});
  server.on('error', (e) => { throw new Error(`cannot start fota-server: ${e.message}`); });
  server.on('exit', (code, sig) => {
    if (!stopping) problems.push(`fota-server died during the test (exit ${code}, signal ${sig})`);
  });
  const portFile = path.join(work, 'port');
  for (let i = 0; i < 200 && !(fs.existsSync(portFile) && fs.statSync(portFile).size); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!fs.existsSync(portFile)) throw new Error('fota-server did not start (see server.log)');
  return `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}`;
}

async function shot(page, name) {
  await page.screenshot({path: path.join(shots, `${name}.png`)});
  if (docsDir) await page.screenshot({path: path.join(docsDir, `dashboard-${name}.png`)});
}

/* the text of a rollout card's stage bar, e.g. "1 / 1" */
function barValue(page, label) {
  return page.locator('article.rollout').first().locator('.bar-row', {hasText: label}).first()
    .locator('.bar-value');
}

async function main() {
  fs.mkdirSync(shots, {recursive: true});
  if (docsDir) fs.mkdirSync(docsDir, {recursive: true});
  const url = await startServer();
  const env = {...process.env, FOTA_SERVER: url, FOTA_ADMIN_TOKEN: TOKEN};
  step(`server at ${url}, work folder ${work}`);

  /* two images, a file that is not one, a registered and provisioned device */
  const mk = bin(simDir, 'fota-mkimage');
  run(mk, ['-o', 'app-1.bin', '--size', '262144', '--version', '1.0.0', '--project',
           'inverter-dongle', '--seed', '1']);
  run(mk, ['-o', 'app-2.bin', '--size', '262144', '--version', '2.0.0', '--project',
           'inverter-dongle', '--seed', '2']);
  run(mk, ['-o', 'app-3.bin', '--size', '262144', '--version', '3.0.0', '--seed', '3']);
  fs.writeFileSync(path.join(work, 'notes.txt'), 'these are release notes, not an image\n');
  const added = run(bin(serverDir, 'fota-admin'), ['device', 'add', 'dongle-1', '--chip', 'esp32'],
                    {env, stdio: ['ignore', 'pipe', 'ignore']});
  const key = /^key: *([0-9a-f]{64})/m.exec(added)?.[1];
  if (!key) throw new Error(`no key in "device add" output: ${added}`);
  run(bin(simDir, 'fota-device'), ['--flash', 'dongle-1.flash', '--quiet', 'provision', 'app-1.bin']);
  /* a release whose version looks like markup: it must show as text */
  run(bin(serverDir, 'fota-admin'), ['release', 'add', 'app-3.bin', '--version', XSS_VERSION],
      {env, stdio: 'ignore'});

  const args = ['--headless=new', '--disable-gpu', '--disable-dev-shm-usage'];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox'); /* root: no sandbox */
  browser = await chromium.launch({executablePath: CHROMIUM, args});
  const context = await browser.newContext({viewport: {width: 1280, height: 800}});
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('dialog', (d) => { problems.push(`unexpected dialog: ${d.message()}`); d.dismiss(); });
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) {
      problems.push(`CSP: ${m.text()}`);
    }
  });

  step('the page is served with its security policy');
  const resp = await page.goto(`${url}/dashboard`);
  const csp = resp.headers()['content-security-policy'] || '';
  if (!csp.includes("script-src 'self'") || !csp.includes("frame-ancestors 'none'")) {
    throw new Error(`Content-Security-Policy is "${csp}"`);
  }

  step('a wrong token is refused');
  await page.getByLabel('Admin token').fill('not-the-token');
  await page.getByRole('button', {name: 'Log in'}).click();
  await page.locator('#login-error', {hasText: 'wrong admin token'}).waitFor();
  if (await page.locator('#nav').isVisible()) throw new Error('navigation shown after a refused token');
  await shot(page, 'login');

  step('log in (the token stays out of the URL)');
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', {name: 'Fleet', level: 1}).waitFor();
  await page.locator('#page a', {hasText: 'dongle-1'}).first().waitFor();
  if (page.url().includes(TOKEN)) throw new Error(`token in the URL: ${page.url()}`);
  const stored = await page.evaluate(() => sessionStorage.getItem('fota-admin-token'));
  if (stored !== TOKEN) throw new Error('the token is not kept in sessionStorage');

  step('releases: a refused upload shows the server\'s message');
  await page.getByRole('link', {name: 'Releases'}).click();
  await page.getByRole('heading', {name: 'Releases', level: 1}).waitFor();
  await page.getByLabel('Image file (.bin)').setInputFiles(path.join(work, 'notes.txt'));
  await page.getByRole('button', {name: 'Upload'}).click();
  await page.locator('#rel-result.error',
    {hasText: 'refused by the server (HTTP 422 not_an_image)'}).waitFor();
  console.log(`   shown: ${await page.locator('#rel-result').innerText()}`);

  step('releases: a version longer than a device takes is refused before sending');
  await page.getByLabel('Image file (.bin)').setInputFiles(path.join(work, 'app-2.bin'));
  await page.getByLabel('Version (optional)').fill('9'.repeat(32));
  await page.getByRole('button', {name: 'Upload'}).click();
  await page.locator('#rel-result.error', {hasText: 'nothing sent'}).waitFor();

  step('releases: upload 2.0.0 with a progress bar');
  await page.getByLabel('Version (optional)').fill('2.0.0');
  await page.getByRole('button', {name: 'Upload'}).click();
  await page.locator('#rel-result', {hasText: 'version 2.0.0'}).waitFor();
  const pct = await page.locator('#rel-progress').evaluate((p) => p.value);
  if (pct !== 100) throw new Error(`progress bar at ${pct} after the upload`);
  const row = page.locator('tbody tr', {hasText: '2.0.0'});
  await row.waitFor();
  const rowText = await row.innerText();
  for (const want of ['esp32', '256.0 KiB', 'unsigned']) {
    if (!rowText.includes(want)) throw new Error(`release row lacks "${want}": ${rowText}`);
  }
  const relId = /#(\d+)/.exec(rowText)[1];

  step('text from the database stays text');
  await page.locator('tbody td', {hasText: XSS_VERSION}).waitFor();
  if (await page.locator('#page img').count()) throw new Error('a release version became an <img>');
  await shot(page, 'releases');

  step('rollouts: start one for dongle-1');
  await page.getByRole('link', {name: 'Rollouts'}).click();
  await page.getByRole('heading', {name: 'Rollouts', level: 1}).waitFor();
  await page.locator(`#ro-release option[value="${relId}"]`).waitFor({state: 'attached'});
  await page.getByLabel('Release').selectOption(relId);
  await page.getByLabel('Target').selectOption('devices');
  await page.getByLabel('Chip, devices or tag').fill('dongle-1');
  await page.getByLabel('Stages').fill('100%');
  await page.getByLabel('Min. devices per verdict').fill('1');
  await page.getByRole('button', {name: 'Start rollout'}).click();
  const card = page.locator('article.rollout').first();
  await page.locator('article.rollout[data-state="running"]').waitFor();

  step('pause, through the confirmation dialog (cancel first: nothing happens)');
  await card.getByRole('button', {name: 'Pause'}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Cancel'}).click();
  await page.getByRole('dialog').waitFor({state: 'detached'});
  if ((await card.getAttribute('data-state')) !== 'running') throw new Error('cancel paused it');
  await card.getByRole('button', {name: 'Pause'}).click();
  const dlg = page.getByRole('dialog');
  await dlg.getByLabel(/Reason/).fill('<b>hotline</b> busy');
  await dlg.getByRole('button', {name: 'Pause rollout'}).click();
  await page.locator('article.rollout[data-state="paused"]').waitFor();
  await card.locator('.reason', {hasText: 'pause by the operator: <b>hotline</b> busy'}).waitFor();

  step('resume');
  await card.getByRole('button', {name: 'Resume'}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Resume rollout'}).click();
  await page.locator('article.rollout[data-state="running"]').waitFor();

  step('the device updates while the page watches (no reload)');
  await page.evaluate(() => { window.__sameDocument = true; });
  const dev = ['--flash', 'dongle-1.flash', '--server', url, '--id', 'dongle-1', '--key', key,
               '--quiet'];
  const device = new Promise((resolve, reject) => {
    const p = spawn(bin(simDir, 'fota-device'), [...dev, 'update'], {cwd: work, stdio: 'inherit'});
    p.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`fota-device update: exit ${c}`))));
  });
  await barValue(page, 'offered').filter({hasText: '1 / 1'}).waitFor();
  await device;
  await barValue(page, 'installed').filter({hasText: '1 / 1'}).waitFor();
  run(bin(simDir, 'fota-device'), [...dev, 'confirm'], {stdio: 'inherit'});
  await barValue(page, 'confirmed').filter({hasText: '1 / 1'}).waitFor();
  if (!(await page.evaluate(() => window.__sameDocument === true))) {
    throw new Error('the page reloaded');
  }
  await page.locator('article.rollout[data-state="completed"]').waitFor();
  await shot(page, 'rollouts');

  step('a second device installs the release and rolls back (a failure with a reason)');
  const added2 = run(bin(serverDir, 'fota-admin'), ['device', 'add', 'dongle-2'],
                     {env, stdio: ['ignore', 'pipe', 'ignore']});
  const key2 = /^key: *([0-9a-f]{64})/m.exec(added2)[1];
  run(bin(simDir, 'fota-device'), ['--flash', 'dongle-2.flash', '--quiet', 'provision', 'app-1.bin']);
  run(bin(serverDir, 'fota-admin'), ['deploy', relId, '--device', 'dongle-2'], {env, stdio: 'ignore'});
  const dev2 = ['--flash', 'dongle-2.flash', '--server', url, '--id', 'dongle-2', '--key', key2,
                '--quiet'];
  for (const cmd of ['update', 'rollback', 'boot']) {
    run(bin(simDir, 'fota-device'), [...dev2, cmd], {stdio: 'ignore'});
  }

  step('fleet: the confirmation and the failure are counted live');
  await page.getByRole('link', {name: 'Fleet'}).click();
  await page.locator('figcaption', {hasText: '1 confirmation in the last 24 hours'}).waitFor();
  await page.locator('.bar-row', {hasText: 'confirmed'}).locator('.bar-value', {hasText: '1 / 2'})
    .first().waitFor();
  await page.locator('.bar-row', {hasText: '2.0.0'}).first().waitFor();
  await page.locator('tr', {hasText: 'dongle-2'})
    .filter({hasText: 'new image did not confirm; rolled back (rolled_back)'}).first().waitFor();
  await shot(page, 'fleet');

  step('device page: state and timeline');
  await page.locator('#page a', {hasText: 'dongle-1'}).first().click();
  await page.getByRole('heading', {name: 'Device dongle-1'}).waitFor();
  const timeline = page.locator('ol.timeline');
  await timeline.locator('li', {hasText: 'confirmed'}).waitFor();
  const items = await timeline.locator('li').allInnerTexts();
  console.log(`   timeline: ${items.map((t) => t.replace(/\s+/g, ' ')).join(' | ')}`);
  for (const s of ['confirmed', 'installed', 'downloading']) {
    if (!items.some((t) => t.includes(s))) throw new Error(`timeline lacks "${s}"`);
  }
  await page.locator('dd', {hasText: '2.0.0'}).first().waitFor();
  await shot(page, 'device');

  step('device page of the device that rolled back: its last error in words');
  await page.goto(`${url}/dashboard#/device/dongle-2`);
  await page.getByRole('heading', {name: 'Device dongle-2'}).waitFor();
  await page.locator('dd', {hasText: 'new image did not confirm; rolled back (rolled_back)'})
    .waitFor();
  await page.locator('ol.timeline li', {hasText: 'rolled_back'}).first().waitFor();
  await shot(page, 'device-rolled-back');

  step('audit: the actions are listed');
  await page.getByRole('link', {name: 'Audit'}).click();
  await page.locator('td', {hasText: 'POST /api/admin/rollout-actions'}).first().waitFor();
  await page.locator('td', {hasText: 'POST /api/admin/releases'}).first().waitFor();
  await shot(page, 'audit');

  step('a phone screen: 375 px wide, nothing wider than the screen');
  await page.setViewportSize({width: 375, height: 800});
  await page.getByRole('link', {name: 'Fleet'}).click();
  await page.locator('figcaption').waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  if (width > 375) throw new Error(`the fleet page is ${width} px wide on a 375 px screen`);
  await page.screenshot({path: path.join(shots, 'fleet-375px.png')});
  if (docsDir) await page.screenshot({path: path.join(docsDir, 'dashboard-phone.png')});

  step('keyboard: after a reload (still logged in), Tab starts at "Skip to content"');
  await page.reload();
  await page.getByRole('heading', {name: 'Fleet', level: 1}).waitFor();
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => document.activeElement?.textContent?.trim());
  if (first !== 'Skip to content') throw new Error(`first Tab stop is "${first}"`);
  await page.keyboard.press('Tab');
  const second = await page.evaluate(() => document.activeElement?.textContent?.trim());
  if (second !== 'Fleet') throw new Error(`second Tab stop is "${second}", not the navigation`);

  step('log out: the token is gone');
  await page.getByRole('button', {name: 'Log out'}).click();
  await page.getByLabel('Admin token').waitFor();
  if (await page.evaluate(() => sessionStorage.getItem('fota-admin-token'))) {
    throw new Error('token still stored after logging out');
  }
  if (problems.length) throw new Error(problems.join('\n'));
}

let rc = 0;
try {
  await main();
  console.log(`browser_dashboard: ok (screenshots in ${shots})`);
} catch (e) {
  rc = 1;
  console.error(`browser_dashboard: FAILED: ${e.message}`);
  if (problems.length) console.error(problems.join('\n'));
  try {
    console.error(fs.readFileSync(path.join(work, 'server.log'), 'utf8').split('\n').slice(-30).join('\n'));
  } catch (_) { /* no log */ }
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null && server.signalCode === null) {
    stopping = true;
    server.kill('SIGTERM');
    const code = await new Promise((r) => server.once('exit', (c) => r(c)));
    if (code !== 0) { /* e.g. a leak reported by ASan at exit */
      rc = 1;
      console.error(`browser_dashboard: FAILED: fota-server exited with ${code} after SIGTERM`);
      try {
        console.error(fs.readFileSync(path.join(work, 'server.log'), 'utf8').split('\n').slice(-40).join('\n'));
      } catch (_) { /* no log */ }
    }
  }
  if (!process.env.FOTA_KEEP_TEST_DIR) fs.rmSync(work, {recursive: true, force: true});
}
process.exit(rc);
