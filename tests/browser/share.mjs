// Drives Debian's chromium (headless, via playwright-core) through the public share page:
// password form (wrong, then right), the grid with thumbhash placeholders and thumbnails, the
// viewer (preview, then original), the download button, and the expired-link page. Screenshots
// go to $OUT. Started by server-stub/tests/browser.rs, which seeds the server and passes:
// BASE, KEY, PASSWORD, EXPIRED_KEY, COUNT (assets in the link), FIRST_SIZE (bytes of the
// first photo's original), OUT, BROWSER_NODE (the install directory).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// playwright-core lives in the cache install (tests/browser/install.sh), not next to this file.
const require = createRequire(join(process.env.BROWSER_NODE, 'package.json'));
const { chromium } = require('playwright-core');

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`missing ${k}`); return v; };
const [base, key, password, expired, out] = ['BASE', 'KEY', 'PASSWORD', 'EXPIRED_KEY', 'OUT'].map(env);
const count = Number(env('COUNT'));
const firstSize = Number(env('FIRST_SIZE'));
const check = (ok, what) => { if (!ok) throw new Error(`browser test: ${what}`); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run', '--disable-quic'],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 760 }, acceptDownloads: true });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  let resp = await page.goto(`${base}/share/${key}`);
  check(resp.status() === 200, `share page status ${resp.status()}`);
  await page.waitForSelector('#password-form');
  check(await page.locator('#grid').count() === 0, 'photos shown before the password');
  await page.fill('#password', 'not the password');
  await Promise.all([page.waitForLoadState('load'), page.click('#unlock')]);
  await page.waitForSelector('#wrong');
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('#unlock')]);
  await page.waitForSelector('#grid .tile');
  check(await page.locator('#grid .tile').count() === count, 'tile count');
  const placeholders = await page.$$eval('#grid .tile', (ts) => ts.filter((t) => t.style.backgroundImage.includes('data:image/png')).length);
  check(placeholders === count, `thumbhash placeholders: ${placeholders}/${count}`);
  await page.waitForFunction((n) => document.querySelectorAll('#grid img.loaded').length === n, count);
  const natural = await page.$$eval('#grid img', (is) => is.map((i) => i.naturalWidth));
  check(natural.every((w) => w > 0), 'thumbnails decoded');
  await page.screenshot({ path: join(out, 'share-grid.png'), fullPage: true });

  await page.click('#grid .tile >> nth=0');
  await page.waitForSelector('#viewer.open');
  await page.waitForFunction(() => document.getElementById('vimg').dataset.stage === 'original'
    && document.getElementById('vimg').complete && document.getElementById('vimg').naturalWidth > 0);
  await page.screenshot({ path: join(out, 'share-viewer.png') });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const bytes = readFileSync(await download.path());
  check(bytes.length === firstSize, `downloaded ${bytes.length} bytes, expected ${firstSize}`);
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => document.getElementById('counter').textContent.startsWith('2 /'));
  await page.keyboard.press('Escape');
  check(!(await page.locator('#viewer.open').count()), 'viewer closes');

  resp = await page.goto(`${base}/share/${expired}`);
  check(resp.status() === 410, `expired link status ${resp.status()}`);
  check((await page.textContent('#message')).includes('expired'), 'expiry page text');
  await page.screenshot({ path: join(out, 'share-expired.png') });
  check(errors.length === 0, `page errors: ${errors.join('; ')}`);
  console.log('browser test: ok');
} finally {
  await browser.close();
}
