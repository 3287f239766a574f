/* m3-view page: tabs, the 2D viewer (zoom, pan, brightness, contrast, findings, threshold), the
 * X3DOM scene with label toggles and transparency, and the volume's orthogonal slices.  Runs
 * before the window's load event, so that X3DOM finds the scene already built.
 * window.m3view is a small read-only view of the state, for people and for tests. */
(function () {
	'use strict';
	var D = JSON.parse(document.getElementById('m3-data').textContent);
	var $ = function (id) { return document.getElementById(id); };
	var api = window.m3view = { ready2d: false, ready3d: false, errors: [] };

	function problem(msg) {
		api.errors.push(msg);
		var p = $('problem');
		p.textContent = (p.textContent ? p.textContent + ' · ' : '') + msg;
		p.hidden = false;
	}
	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined) e.textContent = text;
		return e;
	}
	function fmt(v, d) {
		return typeof v === 'number' && isFinite(v) ? v.toFixed(d) : '';
	}
	function num(v) { return typeof v === 'number' && isFinite(v); }
	/* Double-click on a slider puts it back to where it started. */
	function resettable(input, value, onchange) {
		input.addEventListener('dblclick', function () {
			input.value = value;
			onchange();
		});
		input.addEventListener('input', onchange);
	}

	/* ---- header, provenance, tabs ---- */
	document.title = D.title;
	$('title').textContent = D.title;
	var P = D.producer;
	$('made').textContent = 'm3-view ' + P.version + ' · ' + P.date;
	(function () {
		var a = $('about');
		a.appendChild(document.createTextNode('Made by m3-view ' + P.version + ' on ' +
			P.date + ' with '));
		a.appendChild(el('code', '', P.args));
		a.appendChild(document.createTextNode('. Everything is inside this page; it loads nothing.'));
		$('about-btn').addEventListener('click', function () {
			a.hidden = !a.hidden;
			this.setAttribute('aria-expanded', String(!a.hidden));
		});
	})();

	var tabs = [];
	var current = null;
	function addTab(label, show) {
		var b = el('button', '', label);
		b.type = 'button';
		b.setAttribute('role', 'tab');
		b.setAttribute('aria-selected', 'false');
		var t = { button: b, show: show, label: label };
		b.addEventListener('click', function () { select(t); });
		$('tabs').appendChild(b);
		tabs.push(t);
		return t;
	}
	function select(t) {
		tabs.forEach(function (x) {
			x.button.setAttribute('aria-selected', String(x === t));
		});
		current = t;
		t.show();
	}

	/* ---- 2D ---- */
	var canvas = $('c2d');
	var ctx = canvas.getContext('2d');
	var images = D.images.map(makeImage);
	var img = null; /* the image shown */
	var bright = 0, contrast = 0, thr = D.threshold || 0;
	var thrMin = 0, thrMax = 1;

	function makeImage(d) {
		var f = d.findings || { image: {}, calcifications: [], clusters: [] };
		var fw = num(f.image.width) ? f.image.width : (d.orig_width || d.width);
		var I = {
			d: d, f: f, calcs: f.calcifications || [], clusters: f.clusters || [],
			bw: d.width, bh: d.height, k: d.width / fw, base: null, pixels: null,
			adj: document.createElement('canvas'), adjKey: '', s: 1, tx: 0, ty: 0,
			fitted: false, sel: -1, items: []
		};
		I.calcs.forEach(function (c) {
			if (num(c.score)) {
				thrMin = Math.min(thrMin, c.score);
				thrMax = Math.max(thrMax, c.score);
			}
		});
		return I;
	}

	function loadBitmap(I, done) {
		var base = document.createElement('canvas');
		if (!I.d.src) { /* findings with no image: a gray field of the image's size */
			var sc = Math.min(1, 2048 / Math.max(I.bw, I.bh));
			base.width = Math.max(1, Math.round(I.bw * sc));
			base.height = Math.max(1, Math.round(I.bh * sc));
			I.k *= sc;
			I.bw = base.width;
			I.bh = base.height;
			var g = base.getContext('2d');
			g.fillStyle = '#3a3a3a';
			g.fillRect(0, 0, base.width, base.height);
			I.base = base;
			done();
			return;
		}
		var im = new Image(), marks = null, left = I.d.marks ? 2 : 1;
		function loaded() {
			if (--left > 0) return;
			base.width = im.naturalWidth;
			base.height = im.naturalHeight;
			base.getContext('2d').drawImage(im, 0, 0);
			I.base = base;
			I.marks = marks;
			done();
		}
		im.onload = loaded;
		im.onerror = function () { problem(I.d.label + ': the image does not decode'); };
		im.src = I.d.src;
		if (I.d.marks) { /* the overlay's coloured marks, apart from its gray image */
			marks = new Image();
			marks.onload = loaded;
			marks.onerror = im.onerror;
			marks.src = I.d.marks;
		}
	}

	/* Brightness and contrast through a lookup table, into I.adj; redone only when they change. */
	function adjust(I) {
		var key = bright + '/' + contrast;
		if (I.adjKey === key) return;
		I.adjKey = key;
		var w = I.base.width, h = I.base.height;
		I.adj.width = w;
		I.adj.height = h;
		var a = I.adj.getContext('2d');
		if (bright === 0 && contrast === 0) {
			a.drawImage(I.base, 0, 0);
			return;
		}
		if (!I.pixels) I.pixels = I.base.getContext('2d').getImageData(0, 0, w, h).data;
		var f = contrast >= 0 ? 1 + contrast / 25 : 1 + contrast / 100;
		var off = bright * 1.28, lut = new Uint8ClampedArray(256);
		for (var v = 0; v < 256; v++) lut[v] = (v - 128) * f + 128 + off;
		var out = a.createImageData(w, h), o = out.data, p = I.pixels;
		for (var i = 0; i < p.length; i += 4) {
			o[i] = lut[p[i]];
			o[i + 1] = lut[p[i + 1]];
			o[i + 2] = lut[p[i + 2]];
			o[i + 3] = 255;
		}
		a.putImageData(out, 0, 0);
	}

	var dpr = 1, cw = 1, ch = 1;
	function sizeCanvas() {
		var r = canvas.getBoundingClientRect();
		dpr = window.devicePixelRatio || 1;
		cw = Math.max(1, r.width);
		ch = Math.max(1, r.height);
		var W = Math.round(cw * dpr), H = Math.round(ch * dpr);
		if (canvas.width !== W || canvas.height !== H) {
			canvas.width = W;
			canvas.height = H;
		}
	}
	function fitScale(I) { return Math.min(cw / I.bw, ch / I.bh); }
	function fit(I) {
		I.s = fitScale(I);
		I.tx = (cw - I.bw * I.s) / 2;
		I.ty = (ch - I.bh * I.s) / 2;
		I.fitted = true;
		I.atFit = true;
	}
	function visible(c) { return !num(c.score) || c.score >= thr; }
	function diameterPx(I, c) {
		var ps = I.f.image.pixel_spacing_mm;
		if (Array.isArray(ps)) ps = ps[0];
		return num(c.diameter_mm) && num(ps) && ps > 0 ? c.diameter_mm / ps : 0;
	}
	function scoreColour(s) {
		if (!num(s)) return '#ffd34d';
		var t = Math.max(0, Math.min(1, (s - thrMin) / ((thrMax - thrMin) || 1)));
		return 'hsl(' + Math.round(55 - 55 * t) + ', 100%, 55%)';
	}

	var pending = false;
	function draw() {
		if (pending) return;
		pending = true;
		requestAnimationFrame(function () { pending = false; render(); });
	}
	function render() {
		if (!img || !img.base || $('v2d').hidden) return;
		sizeCanvas();
		if (!img.fitted) fit(img);
		adjust(img);
		var I = img;
		ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
		ctx.fillStyle = '#000';
		ctx.fillRect(0, 0, cw, ch);
		ctx.imageSmoothingEnabled = I.s < 2;
		ctx.drawImage(I.adj, I.tx, I.ty, I.bw * I.s, I.bh * I.s);
		if (I.marks && $('burned').checked)
			ctx.drawImage(I.marks, I.tx, I.ty, I.bw * I.s, I.bh * I.s);
		var z = I.k * I.s;
		I.clusters.forEach(function (cl) { drawCluster(I, cl, z); });
		I.calcs.forEach(function (c, i) {
			if (!visible(c)) return;
			var x = I.tx + c.x * z, y = I.ty + c.y * z;
			var r = Math.max(7, diameterPx(I, c) * z / 2 + 5);
			var on = i === I.sel;
			ctx.lineWidth = on ? 3 : 1.5;
			ctx.strokeStyle = on ? '#34d3eb' : scoreColour(c.score);
			ctx.beginPath();
			ctx.arc(x, y, r, 0, 2 * Math.PI);
			if (on) { /* the selected one: a second ring and ticks, to find it at a glance */
				ctx.moveTo(x + r + 8, y);
				ctx.arc(x, y, r + 8, 0, 2 * Math.PI);
				[[1, 0], [-1, 0], [0, 1], [0, -1]].forEach(function (t) {
					ctx.moveTo(x + t[0] * (r + 8), y + t[1] * (r + 8));
					ctx.lineTo(x + t[0] * (r + 20), y + t[1] * (r + 20));
				});
			}
			ctx.stroke();
			if (on || I.s * I.k > 0.6) {
				ctx.fillStyle = ctx.strokeStyle;
				ctx.font = '12px system-ui, sans-serif';
				ctx.fillText(String(c.id !== undefined ? c.id : i + 1), x + r + 2, y - r);
			}
		});
		$('zoom').textContent = Math.round(I.s * 100) + '%';
	}
	function drawCluster(I, cl, z) {
		var members = (cl.members || []).map(function (m) {
			return I.calcs.filter(function (c) { return c.id === m; })[0];
		}).filter(function (c) { return c; });
		if (num(cl.score) ? cl.score < thr : members.length && !members.some(visible)) return;
		var x0, y0, x1, y1;
		if (members.length) {
			x0 = Math.min.apply(null, members.map(function (c) { return c.x; }));
			x1 = Math.max.apply(null, members.map(function (c) { return c.x; }));
			y0 = Math.min.apply(null, members.map(function (c) { return c.y; }));
			y1 = Math.max.apply(null, members.map(function (c) { return c.y; }));
		} else if (Array.isArray(cl.centre)) {
			var e = num(cl.extent) ? cl.extent / 2 : 20;
			x0 = cl.centre[0] - e; x1 = cl.centre[0] + e;
			y0 = cl.centre[1] - e; y1 = cl.centre[1] + e;
		} else {
			return;
		}
		var pad = 12;
		ctx.setLineDash([6, 4]);
		ctx.lineWidth = 1.5;
		ctx.strokeStyle = '#ff7ad9';
		ctx.strokeRect(I.tx + x0 * z - pad, I.ty + y0 * z - pad, (x1 - x0) * z + 2 * pad,
			(y1 - y0) * z + 2 * pad);
		ctx.setLineDash([]);
		ctx.fillStyle = '#ff7ad9';
		ctx.font = '12px system-ui, sans-serif';
		ctx.fillText('cluster ' + (cl.id !== undefined ? cl.id : ''), I.tx + x0 * z - pad,
			I.ty + y0 * z - pad - 4);
	}

	function zoomAt(I, factor, sx, sy) {
		var fs = fitScale(I);
		var s = Math.max(fs / 4, Math.min(Math.max(fs, 1) * 64, I.s * factor));
		I.atFit = false;
		I.tx = sx - (sx - I.tx) * (s / I.s);
		I.ty = sy - (sy - I.ty) * (s / I.s);
		I.s = s;
		draw();
	}
	/* Centres finding i and zooms in on it (to four times the fitted size, or more if there). */
	function focus(I, i) {
		var c = I.calcs[i];
		I.sel = i;
		sizeCanvas();
		if (!I.fitted) fit(I);
		I.s = Math.max(I.s, fitScale(I) * 4);
		I.atFit = false;
		I.tx = cw / 2 - c.x * I.k * I.s;
		I.ty = ch / 2 - c.y * I.k * I.s;
		I.items.forEach(function (b, j) { b.setAttribute('aria-pressed', String(j === i)); });
		draw();
	}

	canvas.addEventListener('wheel', function (ev) {
		if (!img) return;
		ev.preventDefault();
		var r = canvas.getBoundingClientRect();
		var dy = ev.deltaMode === 1 ? ev.deltaY * 16 : ev.deltaY;
		zoomAt(img, Math.exp(-dy * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
	}, { passive: false });

	/* Pointers: one drags, two pinch (zoom about their midpoint and pan with it). */
	var ptrs = new Map(), moved = 0, pinch = null;
	canvas.addEventListener('pointerdown', function (ev) {
		if (!img) return;
		canvas.setPointerCapture(ev.pointerId);
		ptrs.set(ev.pointerId, { x: ev.clientX, y: ev.clientY });
		moved = ptrs.size > 1 ? 99 : 0;
		pinch = null;
		canvas.classList.add('dragging');
	});
	canvas.addEventListener('pointermove', function (ev) {
		var p = ptrs.get(ev.pointerId);
		if (!p || !img) return;
		var r = canvas.getBoundingClientRect();
		img.atFit = false;
		if (ptrs.size === 1) {
			img.tx += ev.clientX - p.x;
			img.ty += ev.clientY - p.y;
			moved += Math.abs(ev.clientX - p.x) + Math.abs(ev.clientY - p.y);
			p.x = ev.clientX;
			p.y = ev.clientY;
			draw();
			return;
		}
		p.x = ev.clientX;
		p.y = ev.clientY;
		var pts = Array.from(ptrs.values()).slice(0, 2);
		var mx = (pts[0].x + pts[1].x) / 2 - r.left, my = (pts[0].y + pts[1].y) / 2 - r.top;
		var dist = Math.hypot(pts[0].x - pts[1].x, pts[0].y - pts[1].y) || 1;
		if (pinch) {
			img.tx += mx - pinch.x;
			img.ty += my - pinch.y;
			zoomAt(img, dist / pinch.d, mx, my);
		}
		pinch = { x: mx, y: my, d: dist };
	});
	function up(ev) {
		if (!ptrs.has(ev.pointerId)) return;
		ptrs.delete(ev.pointerId);
		pinch = null;
		if (ptrs.size === 0) canvas.classList.remove('dragging');
		if (ptrs.size === 0 && moved < 6 && ev.type === 'pointerup') hit(ev);
	}
	canvas.addEventListener('pointerup', up);
	canvas.addEventListener('pointercancel', up);
	canvas.addEventListener('dblclick', function () {
		if (img) { fit(img); draw(); }
	});
	/* Fit is idempotent, so it also answers pointerup: a tap right after a drag may come
	 * without a click (the browser takes it as the end of a gesture). */
	['click', 'pointerup'].forEach(function (t) {
		$('fit').addEventListener(t, function () {
			if (img) { fit(img); draw(); }
		});
	});
	/* A click (or tap) on a mark selects the finding in the list. */
	function hit(ev) {
		var r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
		var I = img, z = I.k * I.s, best = -1, bd = 20 * 20;
		I.calcs.forEach(function (c, i) {
			if (!visible(c)) return;
			var dx = I.tx + c.x * z - x, dy = I.ty + c.y * z - y;
			if (dx * dx + dy * dy < bd) { bd = dx * dx + dy * dy; best = i; }
		});
		if (best < 0) return;
		I.sel = best;
		I.items.forEach(function (b, j) { b.setAttribute('aria-pressed', String(j === best)); });
		I.items[best].scrollIntoView({ block: 'nearest' });
		draw();
	}

	function listFindings(I) {
		var ol = $('list');
		ol.textContent = '';
		I.items = [];
		var order = I.calcs.map(function (c, i) { return i; });
		order.sort(function (a, b) {
			var sa = num(I.calcs[a].score) ? I.calcs[a].score : Infinity;
			var sb = num(I.calcs[b].score) ? I.calcs[b].score : Infinity;
			return sb - sa || a - b;
		});
		order.forEach(function (i) {
			var c = I.calcs[i], li = el('li'), b = el('button');
			b.type = 'button';
			b.setAttribute('aria-pressed', String(i === I.sel));
			b.appendChild(el('span', 'id', '#' + (c.id !== undefined ? c.id : i + 1)));
			var dt = [];
			if (num(c.diameter_mm)) dt.push('Ø ' + fmt(c.diameter_mm, 2) + ' mm');
			if (num(c.contrast)) dt.push('contrast ' + fmt(c.contrast, 2));
			if (c.cluster !== undefined && c.cluster !== null) dt.push('cluster ' + c.cluster);
			if (num(c.x_mm) && num(c.y_mm))
				dt.push('(' + fmt(c.x_mm, 1) + ', ' + fmt(c.y_mm, 1) + ') mm');
			b.appendChild(el('span', 'dt', dt.join(' · ')));
			b.appendChild(el('span', 'sc', num(c.score) ? fmt(c.score, 2) : ''));
			b.addEventListener('click', function () { focus(I, i); });
			li.appendChild(b);
			li.dataset.index = i;
			ol.appendChild(li);
			I.items[i] = b;
		});
		var m = [], im = I.f.image;
		if (im.laterality || im.view) m.push([im.laterality, im.view].join(' '));
		if (I.d.orig_width) m.push(I.d.orig_width + '×' + I.d.orig_height + ' px' +
			(I.d.orig_width !== I.d.width ? ' (shown at ' + I.d.width + '×' + I.d.height + ')' : ''));
		var ps = Array.isArray(im.pixel_spacing_mm) ? im.pixel_spacing_mm[0] : im.pixel_spacing_mm;
		if (num(ps)) m.push('pixel ' + ps + ' mm');
		if (I.f.device) m.push('device ' + I.f.device);
		if (I.f.timings) m.push('timings ' + Object.keys(I.f.timings).map(function (k) {
			return k + ' ' + I.f.timings[k];
		}).join(', '));
		$('meta2d').textContent = m.join(' · ');
		applyThreshold();
	}
	function applyThreshold() {
		$('thr-out').textContent = fmt(thr, 2);
		if (!img) return;
		var shown = 0;
		Array.prototype.forEach.call($('list').children, function (li) {
			var c = img.calcs[+li.dataset.index], v = visible(c);
			li.classList.toggle('below', !v);
			shown += v ? 1 : 0;
		});
		$('count').textContent = img.calcs.length ? shown + ' of ' + img.calcs.length +
			' findings at or above the threshold' : 'No findings for this image.';
		draw();
	}

	resettable($('bright'), 0, function () {
		bright = +$('bright').value;
		$('bright-out').textContent = bright;
		draw();
	});
	resettable($('contrast'), 0, function () {
		contrast = +$('contrast').value;
		$('contrast-out').textContent = contrast;
		draw();
	});
	(function () {
		var t = $('thr');
		thrMin = Math.min(thrMin, thr);
		thrMax = Math.max(thrMax, thr);
		t.min = thrMin;
		t.max = thrMax;
		t.step = (thrMax - thrMin) / 100 || 0.01;
		t.value = thr;
		resettable(t, D.threshold || 0, function () { thr = +t.value; applyThreshold(); });
	})();

	function show2d(I) {
		$('v3d').hidden = true;
		$('v2d').hidden = false;
		img = I;
		listFindings(I);
		$('burned-row').hidden = !I.d.marks;
		if (I.base) { draw(); return; }
		loadBitmap(I, function () {
			if (img === I) draw();
			api.ready2d = true;
		});
	}
	$('burned').addEventListener('change', draw);
	images.forEach(function (I) { addTab(I.d.label, function () { show2d(I); }); });
	window.addEventListener('resize', function () {
		if (img && img.atFit) img.fitted = false;
		draw();
	});

	/* ---- 3D: the scenes imported into an <x3d> element before X3DOM starts ---- */
	var BLOCKED = /^(script|inline|imagetexture|movietexture|audioclip|sound|anchor|externprotodeclare|pixeltexture3d|imagetexture3d|composedshader|shaderpart|loadsensor)$/i;
	var PALETTE = ['0.91 0.87 0.78', '0.85 0.45 0.42', '0.45 0.65 0.9', '0.55 0.8 0.5',
		'0.85 0.7 0.35', '0.7 0.5 0.85'];
	var labels = [];
	var x3d = null;

	function importNode(src) {
		var name = src.localName;
		if (BLOCKED.test(name)) return null;
		var e = document.createElement(name);
		for (var i = 0; i < src.attributes.length; i++) {
			var a = src.attributes[i];
			if (/^(url|on.*)$/i.test(a.localName)) continue;
			e.setAttribute(a.localName, a.value);
		}
		for (var c = src.firstElementChild; c; c = c.nextElementSibling) {
			var k = importNode(c);
			if (k) e.appendChild(k);
		}
		return e;
	}
	function findChild(e, name) {
		for (var c = e.firstElementChild; c; c = c.nextElementSibling)
			if (c.localName.toLowerCase() === name) return c;
		return null;
	}
	function labelShapes(root, sceneName) {
		var shapes = root.getElementsByTagName('shape');
		Array.prototype.forEach.call(shapes, function (s, i) {
			var app = findChild(s, 'appearance');
			if (!app) { app = document.createElement('appearance'); s.insertBefore(app, s.firstChild); }
			var mat = findChild(app, 'material');
			if (!mat) {
				mat = document.createElement('material');
				mat.setAttribute('diffuseColor', PALETTE[labels.length % PALETTE.length]);
				app.appendChild(mat);
			}
			var p = s.parentNode;
			var name = s.getAttribute('DEF') || s.getAttribute('def') ||
				(p && p.getAttribute && (p.getAttribute('DEF') || p.getAttribute('def'))) ||
				sceneName + (shapes.length > 1 ? ' #' + (i + 1) : '');
			/* soft tissue wraps the bone: start it see-through, so the bone shows */
			if (/soft|skin|tissue/i.test(name) && !mat.hasAttribute('transparency'))
				mat.setAttribute('transparency', '0.6');
			labels.push({ name: name, shape: s, material: mat });
		});
	}
	function buildScene() {
		x3d = document.createElement('x3d');
		x3d.id = 'x3d';
		x3d.setAttribute('showStat', 'false');
		x3d.setAttribute('showLog', 'false');
		x3d.setAttribute('showProgress', 'false');
		x3d.setAttribute('disableDoubleClick', 'true');
		var scene = document.createElement('scene');
		var nav = document.createElement('navigationInfo');
		nav.setAttribute('type', '"EXAMINE" "ANY"');
		nav.setAttribute('headlight', 'true');
		scene.appendChild(nav);
		var bg = document.createElement('background');
		bg.setAttribute('skyColor', '0.07 0.08 0.1');
		scene.appendChild(bg);
		D.scenes.forEach(function (sc) {
			var doc = new DOMParser().parseFromString(sc.x3d, 'application/xml');
			var err = doc.getElementsByTagName('parsererror')[0];
			var sEl = doc.getElementsByTagName('Scene')[0];
			if (err || !sEl) {
				problem(sc.name + ': the X3D does not parse');
				return;
			}
			var group = document.createElement('group');
			for (var c = sEl.firstElementChild; c; c = c.nextElementSibling) {
				if (/^(viewpoint|orthoviewpoint|navigationinfo|background)$/i.test(c.localName))
					continue;
				var k = importNode(c);
				if (k) group.appendChild(k);
			}
			labelShapes(group, sc.name.replace(/\.[^.]*$/, ''));
			scene.appendChild(group);
		});
		var b = bounds(scene);
		if (b) scene.insertBefore(frontView(b), scene.firstChild);
		x3d.appendChild(scene);
		$('stage3d').appendChild(x3d);
	}
	function listLabels() {
		var ul = $('labels');
		labels.forEach(function (L) {
			var li = el('li'), lab = el('label'), cb = el('input'), sw = el('span', 'sw');
			cb.type = 'checkbox';
			cb.checked = true;
			var rgb = (L.material.getAttribute('diffuseColor') || '0.8 0.8 0.8').split(/[\s,]+/)
				.map(function (v) { return Math.round(255 * Math.max(0, Math.min(1, +v || 0))); });
			sw.style.background = 'rgb(' + rgb.slice(0, 3).join(',') + ')';
			cb.addEventListener('change', function () {
				L.shape.setAttribute('render', cb.checked ? 'true' : 'false');
			});
			lab.appendChild(cb);
			lab.appendChild(sw);
			lab.appendChild(document.createTextNode(L.name));
			var tr = el('input');
			tr.type = 'range';
			tr.min = 0; tr.max = 0.95; tr.step = 0.05;
			var t0 = +(L.material.getAttribute('transparency') || 0);
			tr.value = t0;
			tr.title = 'Transparency (double-click to reset)';
			tr.setAttribute('aria-label', L.name + ' transparency');
			resettable(tr, t0, function () { L.material.setAttribute('transparency', tr.value); });
			var row = el('div', 'tr');
			row.appendChild(el('span', 'dt', 'Transparency'));
			row.appendChild(tr);
			li.appendChild(lab);
			li.appendChild(row);
			ul.appendChild(li);
		});
	}
	/* Bounds of every Coordinate point of the scene (m3-x3d writes LPS millimetres). */
	function bounds(root) {
		var lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
		Array.prototype.forEach.call(root.getElementsByTagName('coordinate'), function (c) {
			var v = (c.getAttribute('point') || '').split(/[\s,]+/);
			for (var i = 0; i + 2 < v.length; i += 3)
				for (var k = 0; k < 3; k++) {
					var x = +v[i + k];
					if (isFinite(x)) { lo[k] = Math.min(lo[k], x); hi[k] = Math.max(hi[k], x); }
				}
		});
		return lo[0] <= hi[0] ? { lo: lo, hi: hi } : null;
	}
	/* A viewpoint from the patient's front (LPS: -y), a little to the right, head up, that
	 * fits the bounds: orientation = Rz(az) * Rx(90 degrees) as an axis and angle. */
	function frontView(b) {
		var c = [0, 1, 2].map(function (k) { return (b.lo[k] + b.hi[k]) / 2; });
		var r = Math.max(1e-6, Math.hypot(b.hi[0] - b.lo[0], b.hi[1] - b.lo[1], b.hi[2] - b.lo[2]) / 2);
		var fov = Math.PI / 4, d = r / Math.sin(fov / 2) * 1.05, az = -Math.PI / 6;
		var qz = [0, 0, Math.sin(az / 2), Math.cos(az / 2)], qx = [Math.SQRT1_2, 0, 0, Math.SQRT1_2];
		var q = [ /* qz * qx */
			qz[3] * qx[0] + qz[0] * qx[3] + qz[1] * qx[2] - qz[2] * qx[1],
			qz[3] * qx[1] - qz[0] * qx[2] + qz[1] * qx[3] + qz[2] * qx[0],
			qz[3] * qx[2] + qz[0] * qx[1] - qz[1] * qx[0] + qz[2] * qx[3],
			qz[3] * qx[3] - qz[0] * qx[0] - qz[1] * qx[1] - qz[2] * qx[2]];
		var angle = 2 * Math.acos(Math.max(-1, Math.min(1, q[3]))), s = Math.sin(angle / 2) || 1;
		var dir = [-Math.sin(az), Math.cos(az), 0]; /* where it looks: R * (0, 0, -1) */
		var vp = document.createElement('viewpoint');
		vp.setAttribute('position', [c[0] - dir[0] * d, c[1] - dir[1] * d, c[2]].join(' '));
		vp.setAttribute('orientation', [q[0] / s, q[1] / s, q[2] / s, angle].join(' '));
		vp.setAttribute('centerOfRotation', c.join(' '));
		vp.setAttribute('fieldOfView', String(fov));
		vp.setAttribute('description', 'front');
		return vp;
	}
	function fitScene() {
		if (!x3d || !x3d.runtime) return;
		x3d.runtime.resetView();
		if (!x3d.querySelector('viewpoint')) x3d.runtime.showAll('negZ');
	}
	$('reset3d').addEventListener('click', fitScene);

	/* ---- the volume: axial, coronal and sagittal slices through it, with a window ---- */
	var V = D.volume;
	function setupVolume() {
		var bin = atob(V.data), bytes = new Uint8Array(bin.length);
		for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
		var q = new Uint16Array(bytes.buffer), n = V.sizes, sp = V.spacing;
		var hi = V.lo + 65535 * V.scale, lut = new Uint8Array(65536);
		var wc = $('wc'), ww = $('ww');
		var step = (hi - V.lo) / 1000 || 1;
		wc.min = V.lo; wc.max = hi; wc.step = step;
		ww.min = step; ww.max = hi - V.lo || 1; ww.step = step;
		var c0 = (V.window[0] + V.window[1]) / 2, w0 = Math.max(step, V.window[1] - V.window[0]);
		wc.value = c0;
		ww.value = w0;
		var unit = V.units ? ' ' + V.units : '';
		/* [name, columns axis, rows axis, slice axis, rows flipped] */
		var planes = [['Axial', 0, 1, 2, false], ['Coronal', 0, 2, 1, true],
			['Sagittal', 1, 2, 0, true]].map(function (p) {
			var fig = el('figure'), cv = el('canvas'), cap = el('figcaption'), s = el('input');
			cv.width = n[p[1]];
			cv.height = n[p[2]];
			cv.style.aspectRatio = (n[p[1]] * sp[p[1]]) + ' / ' + (n[p[2]] * sp[p[2]]);
			cv.setAttribute('aria-label', p[0] + ' slice');
			s.type = 'range';
			s.min = 0; s.max = n[p[3]] - 1; s.step = 1;
			s.value = Math.floor(n[p[3]] / 2);
			s.setAttribute('aria-label', p[0] + ' slice');
			var txt = el('span');
			cap.appendChild(el('span', '', p[0]));
			cap.appendChild(txt);
			fig.appendChild(cv);
			fig.appendChild(cap);
			fig.appendChild(s);
			$('planes').appendChild(fig);
			var P = { def: p, canvas: cv, slider: s, text: txt };
			s.addEventListener('input', function () { paint(P); });
			return P;
		});
		function paint(P) {
			var a = P.def[1], b = P.def[2], c = P.def[3], k = +P.slider.value;
			var W = n[a], H = n[b], g = P.canvas.getContext('2d'), im = g.createImageData(W, H);
			var stride = [1, n[0], n[0] * n[1]], o = im.data;
			for (var y = 0; y < H; y++) {
				var yy = P.def[4] ? H - 1 - y : y;
				for (var x = 0; x < W; x++) {
					var v = lut[q[x * stride[a] + yy * stride[b] + k * stride[c]]], j = 4 * (y * W + x);
					o[j] = o[j + 1] = o[j + 2] = v;
					o[j + 3] = 255;
				}
			}
			g.putImageData(im, 0, 0);
			P.text.textContent = (k + 1) + ' / ' + n[c];
		}
		function windowed() {
			var c = +wc.value, w = +ww.value, lo = c - w / 2;
			for (var i = 0; i < 65536; i++)
				lut[i] = Math.max(0, Math.min(255, Math.round((V.lo + i * V.scale - lo) / w * 255)));
			$('wc-out').textContent = fmt(c, 0) + unit;
			$('ww-out').textContent = fmt(w, 0) + unit;
			planes.forEach(paint);
		}
		resettable(wc, c0, windowed);
		resettable(ww, w0, windowed);
		windowed();
		$('meta3d').textContent = V.name + ': ' + [V.modality, n.join('×') + ' voxels shown',
			sp.map(function (s) { return fmt(s, 2); }).join('×') + ' mm'].filter(String).join(' · ');
		$('slices').hidden = false;
		api.slices = planes.length;
	}

	function show3d() {
		$('v2d').hidden = true;
		$('v3d').hidden = false;
		img = null;
	}
	if (D.scenes.length) {
		buildScene();
		listLabels();
		addTab('3D', show3d);
		if (typeof x3dom !== 'undefined')
			x3dom.runtime.ready = function () {
				fitScene();
				setTimeout(function () { api.ready3d = true; }, 300);
			};
	}
	if (V) {
		try { setupVolume(); } catch (e) { problem(V.name + ': ' + e.message); }
		if (!D.scenes.length) {
			$('v3d').classList.add('slices-only');
			addTab('Slices', show3d);
		}
	}
	api.labels = labels.length;
	api.triangles = function () {
		return x3d && x3d.runtime && x3dom.canvases[0] && x3dom.canvases[0].gl
			? x3dom.canvases[0].gl.numFaces : -1;
	};
	api.state = function () {
		var I = img;
		var hidden = I ? I.calcs.filter(function (c) { return !visible(c); }).length : 0;
		return {
			tab: current ? current.label : null, zoom: I ? I.s : null, tx: I ? I.tx : null,
			ty: I ? I.ty : null, findings: I ? I.calcs.length : 0, hidden: hidden,
			selected: I ? I.sel : -1, threshold: thr, bright: bright, contrast: contrast
		};
	};
	api.select = function (label) {
		tabs.forEach(function (t) { if (t.label === label) select(t); });
	};
	window.addEventListener('error', function (ev) { problem(String(ev.message)); });

	if (tabs.length) select(tabs[0]);
	else $('empty').hidden = false;
})();
