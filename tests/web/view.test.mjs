// The m3-view page in headless Chromium, driven by Playwright (playwright-core): desktop, then a
// 390x844 touch phone.  Prints TAP ("ok N - ...") and exits 1 on any failure.
//   node tests/web/view.test.mjs   (tests/web/run.sh sets the environment below)
// M3V_PAGE: the page; M3V_EXPECT: mkdata.py's expect.json; M3V_OUT: where screenshots go;
// M3V_CHROMIUM: the browser binary.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.M3V_PLAYWRIGHT || 'playwright-core');
const PAGE = pathToFileURL(process.env.M3V_PAGE).href;
const EXPECT = JSON.parse(readFileSync(process.env.M3V_EXPECT, 'utf8'));
const OUT = process.env.M3V_OUT;
const WAIT = { timeout: 30000 };

let n = 0, failed = 0;
async function check(what, fn) {
	n++;
	try {
		await fn();
		console.log(`ok ${n} - ${what}`);
	} catch (e) {
		failed++;
		console.log(`not ok ${n} - ${what}`);
		for (const l of String(e && e.stack || e).split('\n').slice(0, 6)) console.log(`# ${l}`);
	}
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }

// Pixel statistics of a PNG (a screenshot) or of a canvas, computed in the page itself.
async function pngStats(page, buf) {
	return page.evaluate(async (b64) => {
		const im = new Image();
		im.src = 'data:image/png;base64,' + b64;
		await im.decode();
		const c = document.createElement('canvas');
		c.width = im.naturalWidth; c.height = im.naturalHeight;
		const g = c.getContext('2d');
		g.drawImage(im, 0, 0);
		const d = g.getImageData(0, 0, c.width, c.height).data;
		let s = 0, s2 = 0, k = 0;
		for (let i = 0; i < d.length; i += 4) {
			const v = (d[i] + d[i + 1] + d[i + 2]) / 3;
			s += v; s2 += v * v; k++;
		}
		const mean = s / k;
		return { mean, variance: s2 / k - mean * mean };
	}, buf.toString('base64'));
}
async function canvasSum(page, sel, weights = [1, 1, 1]) {
	return page.$eval(sel, (c, w) => {
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let s = 0;
		for (let i = 0; i < d.length; i += 4) s += w[0] * d[i] + w[1] * d[i + 1] + w[2] * d[i + 2];
		return s;
	}, weights);
}
const frames = (page) => page.evaluate(() => new Promise((r) =>
	requestAnimationFrame(() => requestAnimationFrame(r))));
const state = (page) => page.evaluate(() => window.m3view.state());

// Watches a page for console errors, uncaught exceptions and requests to anything but the page.
function watch(page) {
	const w = { errors: [], requests: [] };
	page.on('console', (m) => { if (m.type() === 'error') w.errors.push(m.text()); });
	page.on('pageerror', (e) => w.errors.push(String(e)));
	page.on('request', (r) => {
		if (!/^(file|data|blob):/.test(r.url())) w.requests.push(r.url());
	});
	return w;
}

async function open(browser, opts, tag) {
	const ctx = await browser.newContext(opts);
	const page = await ctx.newPage();
	const w = watch(page);
	await check(`${tag}: the page loads, the first image is drawn`, async () => {
		await page.goto(PAGE);
		await page.waitForFunction(() => window.m3view && window.m3view.ready2d, null, WAIT);
		await frames(page);
		const st = await state(page);
		assert(st.tab === EXPECT.views[0], `first tab ${st.tab}`);
		assert(st.findings === EXPECT.scores.length, `findings ${st.findings}`);
		const tabs = await page.locator('#tabs button').allTextContents();
		assert(JSON.stringify(tabs) === JSON.stringify([...EXPECT.views, '3D']),
			`tabs ${tabs}`);
	});
	return { ctx, page, w };
}

async function twoD(page, tag, touch) {
	await check(`${tag}: the page says what made it, and when`, async () => {
		await page.locator('#about-btn').click();
		const t = await page.locator('#about').textContent();
		assert(/m3-view \d+\.\d+\.\d+ on 2023-11-14T22:13:20Z with m3-view --max-size/.test(t), t);
		await page.locator('#about-btn').click();
	});
	await check(`${tag}: the brightness slider changes the canvas pixels`, async () => {
		const before = await canvasSum(page, '#c2d');
		await page.focus('#bright');
		await page.keyboard.press('End');
		await frames(page);
		const after = await canvasSum(page, '#c2d');
		assert((await state(page)).bright === 100, 'slider not at 100');
		assert(after > before * 1.05, `sum ${before} -> ${after}`);
		await page.locator('#bright').dblclick(); // double-click resets
		await frames(page);
		assert((await state(page)).bright === 0, 'double-click did not reset');
		assert(await canvasSum(page, '#c2d') === before, 'pixels not back after reset');
	});
	await check(`${tag}: the contrast slider changes the canvas pixels`, async () => {
		const before = await canvasSum(page, '#c2d');
		await page.focus('#contrast');
		await page.keyboard.press('Home');
		await frames(page);
		assert(await canvasSum(page, '#c2d') !== before, 'no change');
		await page.locator('#contrast').dblclick();
		await frames(page);
	});
	await check(`${tag}: the overlay's own marks are a layer that can be hidden`, async () => {
		const box = page.locator('#burned');
		assert(await box.isVisible(), 'no check box: the overlay was not split');
		const colour = [1, 3, 5]; // tells red marks from the gray under them
		const before = await canvasSum(page, '#c2d', colour);
		await box.setChecked(false);
		await frames(page);
		assert(await canvasSum(page, '#c2d', colour) !== before, 'hiding the marks changed nothing');
		await box.setChecked(true);
		await frames(page);
		assert(await canvasSum(page, '#c2d', colour) === before, 'not back');
	});
	await check(`${tag}: ${touch ? 'tapping' : 'clicking'} a finding centres and zooms on it`, async () => {
		const z0 = (await state(page)).zoom;
		const b = page.locator('#list li button').nth(2);
		if (touch) await b.tap(); else await b.click();
		await frames(page);
		const st = await state(page);
		assert(st.zoom > z0 * 2, `zoom ${z0} -> ${st.zoom}`);
		assert(st.selected === 2, `selected ${st.selected}`);
		assert(await b.getAttribute('aria-pressed') === 'true', 'not marked in the list');
		await page.locator('#fit').click();
		await frames(page);
		assert(Math.abs((await state(page)).zoom - z0) < 1e-6, 'Fit did not go back');
	});
	await check(`${tag}: the threshold slider hides the ${EXPECT.below} findings scored below ${EXPECT.threshold}`, async () => {
		await page.focus('#thr');
		await page.keyboard.press('Home');
		for (let i = 0; i < Math.round(EXPECT.threshold * 100); i++) await page.keyboard.press('ArrowRight');
		await frames(page);
		const st = await state(page);
		assert(Math.abs(st.threshold - EXPECT.threshold) < 1e-9, `threshold ${st.threshold}`);
		assert(st.hidden === EXPECT.below, `state says ${st.hidden} hidden`);
		const shown = await page.locator('#list li').evaluateAll((ls) =>
			ls.filter((l) => l.offsetParent !== null).length);
		assert(shown === EXPECT.scores.length - EXPECT.below, `${shown} shown in the list`);
		assert((await page.locator('#count').textContent()).startsWith(`${shown} of `), 'count text');
		await page.locator('#thr').dblclick();
		await frames(page);
		assert((await state(page)).hidden === 0, 'double-click did not reset');
	});
}

async function pinch(page) {
	// Two fingers moving apart over the image, as raw touch events through CDP.
	const cdp = await page.context().newCDPSession(page);
	const box = await page.locator('#c2d').boundingBox();
	const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
	const pts = (d) => [{ x: cx - d, y: cy, id: 1 }, { x: cx + d, y: cy, id: 2 }];
	await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: pts(20) });
	for (let d = 30; d <= 100; d += 10)
		await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: pts(d) });
	await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
	await cdp.detach();
}

async function threeD(page, tag, shot) {
	await check(`${tag}: X3DOM shows the scene with its ${EXPECT.triangles} triangles`, async () => {
		await page.locator('#tabs button', { hasText: '3D' }).click();
		await page.waitForFunction(() => window.m3view.ready3d, null, WAIT);
		await page.waitForFunction((t) => window.m3view.triangles() === t, EXPECT.triangles, WAIT);
		assert(await page.locator('#labels li').count() === EXPECT.labels, 'labels');
	});
	let first;
	await check(`${tag}: a screenshot of the 3D view is not blank`, async () => {
		await frames(page);
		first = await page.locator('#stage3d').screenshot({ path: `${OUT}/${shot}` });
		await page.screenshot({ path: `${OUT}/${shot.replace('.png', '-page.png')}` });
		const s = await pngStats(page, first);
		assert(s.variance > 100, `variance ${s.variance.toFixed(1)}`);
	});
	await check(`${tag}: hiding a label leaves X3DOM drawing the other label's triangles`, async () => {
		const cb = page.locator('#labels li', { hasText: 'bone' }).locator('input[type=checkbox]');
		await cb.setChecked(false);
		await page.waitForFunction((t) => window.m3view.triangles() === t,
			EXPECT.triangles - 12, WAIT);
		await cb.setChecked(true);
		await page.waitForFunction((t) => window.m3view.triangles() === t, EXPECT.triangles, WAIT);
	});
	await check(`${tag}: the transparency slider makes a label transparent`, async () => {
		const tr = page.locator('#labels li', { hasText: 'soft-tissue' }).locator('input[type=range]');
		await tr.focus();
		await page.keyboard.press('End');
		const t = await page.evaluate(() =>
			document.querySelectorAll('#x3d material')[1].getAttribute('transparency'));
		assert(Math.abs(+t - 0.95) < 1e-9, `transparency ${t}`);
		await tr.dblclick();
	});
	await check(`${tag}: dragging rotates the scene; Reset view brings it back`, async () => {
		const box = await page.locator('#stage3d canvas').boundingBox();
		const x = box.x + box.width / 2, y = box.y + box.height / 2;
		await page.mouse.move(x, y);
		await page.mouse.down();
		for (let i = 1; i <= 10; i++) await page.mouse.move(x + 12 * i, y + 5 * i);
		await page.mouse.up();
		await frames(page);
		const turned = await page.locator('#stage3d').screenshot();
		assert(!turned.equals(first), 'the view did not change');
		await page.locator('#reset3d').click();
		// X3DOM animates back to the viewpoint: wait until two screenshots agree
		const s0 = await pngStats(page, first);
		let back, prev = null;
		for (let i = 0; i < 40; i++) {
			await page.waitForTimeout(150);
			back = await pngStats(page, await page.locator('#stage3d').screenshot());
			if (prev && Math.abs(back.mean - prev.mean) < 0.01) break;
			prev = back;
		}
		assert(Math.abs(back.mean - s0.mean) < 1, `mean ${s0.mean} -> ${back.mean}`);
	});
	await check(`${tag}: three volume slices, and the window slider changes them`, async () => {
		assert(await page.locator('#planes canvas').count() === 3, 'not 3 slices');
		const before = await canvasSum(page, '#planes canvas');
		assert(before > 0, 'blank slice');
		await page.focus('#ww');
		await page.keyboard.press('Home');
		assert(await canvasSum(page, '#planes canvas') !== before, 'no change');
	});
}

const browser = await chromium.launch({ executablePath: process.env.M3V_CHROMIUM });
try {
	const d = await open(browser, { viewport: { width: 1280, height: 800 } }, 'desktop');
	await twoD(d.page, 'desktop', false);
	await check('desktop: wheel zooms about the cursor', async () => {
		const z0 = (await state(d.page)).zoom;
		const box = await d.page.locator('#c2d').boundingBox();
		await d.page.mouse.move(box.x + 200, box.y + 200);
		await d.page.mouse.wheel(0, -400);
		await frames(d.page);
		assert((await state(d.page)).zoom > z0 * 1.2, 'no zoom');
		await d.page.locator('#c2d').dblclick();
		await frames(d.page);
		assert(Math.abs((await state(d.page)).zoom - z0) < 1e-6, 'double-click did not fit');
	});
	await d.page.locator('#list li button').nth(0).click();
	await d.page.locator('#fit').click();
	await frames(d.page);
	await d.page.screenshot({ path: `${OUT}/desktop-2d.png` });
	await threeD(d.page, 'desktop', 'desktop-3d.png');
	await check('desktop: no console errors and no request outside the page', async () => {
		assert(d.w.errors.length === 0, 'errors: ' + d.w.errors.join(' | '));
		assert(d.w.requests.length === 0, 'requests: ' + d.w.requests.join(' '));
	});
	await d.ctx.close();

	const p = await open(browser, { viewport: { width: 390, height: 844 }, hasTouch: true,
		isMobile: true, deviceScaleFactor: 2 }, 'phone');
	await check('phone: the layout fits 390 px: image on top, panel below, no sideways scroll', async () => {
		const m = await p.page.evaluate(() => ({
			sw: document.documentElement.scrollWidth,
			stage: document.getElementById('stage').getBoundingClientRect().toJSON(),
			side: document.getElementById('side2d').getBoundingClientRect().toJSON()
		}));
		assert(m.sw <= 390, `scrollWidth ${m.sw}`);
		assert(m.stage.width >= 380 && m.stage.height >= 300, `stage ${JSON.stringify(m.stage)}`);
		assert(m.side.top >= m.stage.bottom - 1, 'panel not below the image');
	});
	await twoD(p.page, 'phone', true);
	await check('phone: pinching with two fingers zooms in', async () => {
		const z0 = (await state(p.page)).zoom;
		await pinch(p.page);
		await frames(p.page);
		const z1 = (await state(p.page)).zoom;
		assert(z1 > z0 * 2, `zoom ${z0} -> ${z1}`);
	});
	await check('phone: a one-finger drag pans', async () => {
		const s0 = await state(p.page);
		const cdp = await p.page.context().newCDPSession(p.page);
		const box = await p.page.locator('#c2d').boundingBox();
		const x = box.x + 100, y = box.y + 100;
		await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x, y }] });
		for (let i = 1; i <= 5; i++)
			await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove',
				touchPoints: [{ x: x + 10 * i, y: y + 6 * i }] });
		await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
		await cdp.detach();
		await frames(p.page);
		const s1 = await state(p.page);
		assert(Math.abs(s1.tx - s0.tx - 50) < 1 && Math.abs(s1.ty - s0.ty - 30) < 1,
			`moved ${s1.tx - s0.tx}, ${s1.ty - s0.ty}`);
		await p.page.locator('#fit').tap();
		await frames(p.page);
		const s2 = await state(p.page);
		assert(s2.zoom < s1.zoom, `Fit tapped: zoom ${s1.zoom} -> ${s2.zoom}`);
	});
	await p.page.screenshot({ path: `${OUT}/phone-2d.png` });
	await threeD(p.page, 'phone', 'phone-3d.png');
	await check('phone: no console errors and no request outside the page', async () => {
		assert(p.w.errors.length === 0, 'errors: ' + p.w.errors.join(' | '));
		assert(p.w.requests.length === 0, 'requests: ' + p.w.requests.join(' '));
	});
	await p.ctx.close();
} finally {
	await browser.close();
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
