// The supervisors' dashboard end to end: Debian's headless Chromium driven by Playwright against
// a real `doorstep-server demo` process, and a real phone (core store + sync client, the `phone`
// example) that syncs with it. Run by scripts/test.sh, which starts the server and passes:
//   DS_BASE (server URL), DS_PHONE (phone binary), DS_TMP (scratch dir), DS_SHOTS (screenshots),
//   DS_PASSWORD (the demo password), DS_MODULES (the node_modules holding playwright-core).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(path.join(path.resolve(process.env.DS_MODULES), 'noop.js'));
const { chromium } = require('playwright-core');

const BASE = process.env.DS_BASE;
const PASSWORD = process.env.DS_PASSWORD;
const SHOTS = process.env.DS_SHOTS;
const TMP = process.env.DS_TMP;
mkdirSync(SHOTS, { recursive: true });

function phone(...args) {
  const out = execFileSync(process.env.DS_PHONE, [path.join(TMP, 'phone.db'), ...args], {
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

async function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

async function login(browser, who) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${BASE}/`);
  // Not logged in: sent to the login page, in Chinese.
  assert.match(page.url(), /\/login/);
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  await page.fill('input[name=login]', who);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
  return { context, page };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

test('the supervisors dashboard in a real browser', async (t) => {
  const browser = await launch();
  try {
    await t.test('a wrong password is refused, with a message', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${BASE}/login`);
      await page.fill('input[name=login]', 'dh-jiedao');
      await page.fill('input[name=password]', 'not-the-password');
      await page.click('button[type=submit]');
      await page.waitForSelector('.error');
      assert.match(await page.textContent('.error'), /登录名或密码不正确/);
      await shot(page, 'login');
      await context.close();
    });

    const { context, page } = await login(browser, 'dh-jiedao');
    let appealId;

    await t.test('log in and drill from street to household', async () => {
      assert.match(page.url(), /\/u\/dh$/);
      assert.match(await page.textContent('h1'), /东湖街道/);
      const households = await page.textContent('#coverage .big');
      assert.match(households, /\d+/);
      // Every chart is an SVG with bars.
      assert.equal(await page.locator('#trends svg.chart').count(), 3);
      // The grid without a phone stands out as never synced.
      assert.ok((await page.locator('#children tr.stale').count()) >= 1, 'a stale unit is marked');
      await shot(page, 'street');

      await page.click('#children a:has-text("幸福里社区")');
      await page.waitForURL(/\/u\/dh-xf$/);
      assert.match(await page.textContent('h1'), /幸福里社区/);
      await shot(page, 'community');

      await page.click('#children a:has-text("幸福里社区第1网格")');
      await page.waitForURL(/\/u\/dh-xf-01$/);
      assert.match(await page.textContent('nav.crumbs'), /东湖街道.*幸福里社区/s);
      await shot(page, 'grid');

      await page.click('nav.tabs a:has-text("住户")');
      await page.waitForURL(/\/households/);
      const rows = await page.locator('#households tbody tr').count();
      assert.ok(rows > 0 && rows <= 50, `households on a page: ${rows}`);
      // Filter: not visited in 30 days, sorted longest unvisited first (autosubmits).
      await page.selectOption('select[name=visit]', '30');
      await page.waitForURL(/visit=30/);
      await page.selectOption('select[name=sort]', 'last_visit');
      await page.waitForURL(/sort=last_visit/);
      await shot(page, 'households');

      await page.click('#households tbody tr:first-child a');
      await page.waitForURL(/\/h\//);
      assert.ok((await page.locator('#residents tbody tr').count()) >= 1);
      assert.match(await page.textContent('#history'), /服务器|登记住户/);
      await shot(page, 'household');
    });

    await t.test('filter overdue appeals', async () => {
      await page.goto(`${BASE}/u/dh/appeals`);
      await page.check('#overdue-only');
      await page.waitForURL(/overdue=1/);
      const rows = page.locator('#ledger tbody tr');
      const n = await rows.count();
      assert.ok(n > 0, 'the demo has overdue appeals');
      assert.equal(await page.locator('#ledger tbody tr.overdue').count(), n, 'every row is overdue');
      const first = await rows.first().locator('td.state').textContent();
      assert.match(first, /已超期/);
      await shot(page, 'ledger-overdue');
    });

    await t.test('an administrator enrolls a phone from the site and shows its QR code', async () => {
      const admin = await login(browser, 'admin');
      assert.match(admin.page.url(), /\/admin$/);
      const option = await admin.page.locator('#form-enroll option', { hasText: 'dh-xf-01' }).first().getAttribute('value');
      await admin.page.selectOption('#form-enroll select[name=person]', option);
      await admin.page.click('#form-enroll button[type=submit]');
      await admin.page.waitForSelector('#enroll-code');
      const code = (await admin.page.textContent('#enroll-code')).trim();
      assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      assert.equal(await admin.page.locator('.qr svg').count(), 1);
      await shot(admin.page, 'admin-enroll');
      const enrolled = phone('enroll', BASE, code);
      assert.deepEqual(enrolled.grids, ['dh-xf-01']);
      assert.ok(enrolled.pulled > 0);
      // The administrator sees no residents' pages.
      const r = await admin.page.goto(`${BASE}/u/dh-xf-01`);
      assert.equal(r.status(), 403);
      await admin.context.close();
    });

    await t.test('whistle an appeal to a department, and see it arrive on the phone', async () => {
      await page.goto(`${BASE}/u/dh-xf-01/appeals?open=1&sort=oldest`);
      const link = page.locator('#ledger tbody tr:first-child a').first();
      const href = await link.getAttribute('href');
      appealId = href.split('/').pop();
      const before = phone('appeal', appealId);
      assert.notEqual(before.status, 'whistled');
      await link.click();
      await page.waitForURL(/\/a\//);
      await page.selectOption('#form-whistle select[name=department]', '房管所');
      await page.fill('#form-whistle textarea[name=note]', '请房管所三日内到场');
      await page.click('#form-whistle button[type=submit]');
      await page.waitForURL(/done=1/);
      assert.match(await page.textContent('.flash'), /下次同步/);
      assert.equal((await page.textContent('#appeal-status')).trim(), '已吹哨');
      assert.equal((await page.textContent('#appeal-department')).trim(), '房管所');
      assert.match(await page.textContent('#events'), /吹哨.*东湖街道网格长/s);
      await shot(page, 'appeal-whistled');

      const synced = phone('sync');
      assert.ok(synced.pulled >= 1, `the phone pulled ${synced.pulled} documents`);
      const after = phone('appeal', appealId);
      assert.equal(after.status, 'whistled');
      assert.equal(after.department, '房管所');
      const e = after.events.at(-1);
      assert.equal(e.kind, 'whistled');
      assert.equal(e.by, '东湖街道网格长');
      assert.equal(e.note, '请房管所三日内到场');
    });

    await t.test('a photo taken on a visit shows on the household page, the photo on a click', async () => {
      const v = phone('photo-visit');
      assert.equal(v.photos_sent, 2, 'the photo and its thumbnail went up after the visit');
      await page.goto(`${BASE}/h/${v.household}`);
      const img = page.locator(`#visits a.photo img[src="/photo/${v.thumb}"]`);
      await img.waitFor();
      await img.scrollIntoViewIfNeeded();
      await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
      const width = await img.evaluate((el) => el.naturalWidth);
      assert.ok(width > 100 && width <= 320, `the thumbnail is ${width} px wide`);
      assert.equal(await page.locator('#visits a.photo').first().getAttribute('href'), `/photo/${v.hash}`);
      const r = await page.request.get(`${BASE}/photo/${v.hash}`);
      assert.equal(r.status(), 200);
      assert.equal(r.headers()['content-type'], 'image/jpeg');
      assert.match(r.headers()['cache-control'], /private/);
      assert.ok((await r.body()).length <= 300 * 1024, 'the kept photo, not the camera original');
      await shot(page, 'household-photo');
    });

    await t.test('a form without its CSRF token changes nothing', async () => {
      const r = await page.request.post(`${BASE}/a/${appealId}/triage`, {
        form: { action: 'close', note: 'forged' },
        maxRedirects: 0,
      });
      assert.equal(r.status(), 403);
      assert.equal(phone('sync').pulled, 0);
      assert.equal(phone('appeal', appealId).status, 'whistled');
    });

    await t.test('export the ledger as CSV and read it back', async () => {
      await page.goto(`${BASE}/u/dh/appeals?overdue=1`);
      const total = Number((await page.textContent('nav.pager span')).match(/^(\d+)/)[1]);
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.click('nav.pager a.csv >> nth=0'),
      ]);
      assert.match(download.suggestedFilename(), /\.csv$/);
      const file = path.join(TMP, 'ledger.csv');
      await download.saveAs(file);
      const bytes = readFileSync(file);
      assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 with a BOM for Excel');
      const lines = bytes.toString('utf8').slice(1).trimEnd().split('\r\n');
      assert.match(lines[0], /^受理时间,网格,类别,等级,渠道,状态,内容,诉求人,责任人,承办部门,时限,剩余$/);
      assert.equal(lines.length - 1, total, 'one line per appeal in the ledger');
      assert.ok(lines.slice(1).every((l) => l.includes('已超期')));
    });

    await t.test('switch language to English and back', async () => {
      await page.goto(`${BASE}/u/dh`);
      await page.click('#lang-switch');
      await page.waitForURL(/\/u\/dh$/);
      assert.equal(await page.getAttribute('html', 'lang'), 'en');
      assert.match(await page.textContent('nav.tabs'), /Overview.*Households.*Appeal ledger/s);
      assert.match(await page.textContent('#coverage h2'), /Visit coverage/);
      assert.doesNotMatch(await page.textContent('#coverage'), /走访/);
      await shot(page, 'street-en');
      await page.click('#lang-switch');
      await page.waitForURL(/\/u\/dh$/);
      assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    });

    await t.test("a supervisor of community A is refused community B's pages", async () => {
      const a = await login(browser, 'xf-shuji');
      assert.match(a.page.url(), /\/u\/dh-xf$/);
      for (const p of ['/u/dh-hp', '/u/dh-hp-01/appeals', '/u/dh', '/admin']) {
        const r = await a.page.goto(`${BASE}${p}`);
        assert.equal(r.status(), 403, p);
        assert.match(await a.page.textContent('h1'), /无权访问/);
      }
      // An appeal and a household of community B, by their ids.
      const b = await page.goto(`${BASE}/u/dh-hp-01/appeals`);
      assert.equal(b.status(), 200);
      const bAppeal = await page.locator('#ledger tbody a').first().getAttribute('href');
      const r = await a.page.goto(`${BASE}${bAppeal}`);
      assert.equal(r.status(), 403);
      // The triage form of B's appeal is refused too, even with a valid token of A's session.
      await a.page.goto(`${BASE}/u/dh-xf`);
      const csrf = await a.page.getAttribute('form[action="/logout"] input[name=csrf]', 'value');
      const post = await a.page.request.post(`${BASE}${bAppeal}/triage`, {
        form: { csrf, action: 'close', note: 'not mine' },
        maxRedirects: 0,
      });
      assert.equal(post.status(), 403);
      await shot(a.page, 'community-a');
      await a.context.close();
    });

    await t.test('log out ends the session', async () => {
      await page.goto(`${BASE}/u/dh`);
      await page.click('header form[action="/logout"] button');
      await page.waitForURL(/\/login/);
      await page.goto(`${BASE}/u/dh`);
      assert.match(page.url(), /\/login\?next=/);
    });
    await context.close();
  } finally {
    await browser.close();
  }
});
