// Line charts drawn by hand on a <canvas>: time on x, one or more series,
// gridlines with labels. No library, nothing fetched.

const PAD = { left: 48, right: 12, top: 12, bottom: 22 };

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function formatValue(v) {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * @param {HTMLCanvasElement} canvas
 * @param {Array<{name: string, color: string, points: Array<{t: number, v: number}>}>} series
 *   t in ms since the epoch; points with a NaN value are gaps
 * @param {{windowMs?: number, unit?: string}} [opt]
 */
export function drawLineChart(canvas, series, opt = {}) {
  const windowMs = opt.windowMs ?? 120000;
  const ratio = globalThis.devicePixelRatio || 1;
  const w = canvas.clientWidth || 400;
  const hgt = canvas.clientHeight || 180;
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(hgt * ratio);
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, w, hgt);

  const now = Date.now();
  const t0 = now - windowMs;
  const values = series.flatMap((s) =>
    s.points.filter((p) => p.t >= t0 && Number.isFinite(p.v)).map((p) => p.v),
  );
  const yMax = niceMax(Math.max(0, ...values));
  const x = (t) => PAD.left + ((t - t0) / windowMs) * (w - PAD.left - PAD.right);
  const y = (v) => hgt - PAD.bottom - (v / yMax) * (hgt - PAD.top - PAD.bottom);

  g.font = '11px system-ui, sans-serif';
  g.strokeStyle = '#e5e7eb';
  g.fillStyle = '#6b7280';
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    g.beginPath();
    g.moveTo(PAD.left, y(v));
    g.lineTo(w - PAD.right, y(v));
    g.stroke();
    g.fillText(`${formatValue(v)}${opt.unit ?? ''}`, 4, y(v) + 4);
  }
  const step = windowMs > 60000 ? 30 : 10;
  for (let s = 0; s <= windowMs / 1000; s += step) {
    g.fillText(s === 0 ? 'now' : `-${s}s`, x(now - s * 1000) - 10, hgt - 6);
  }

  let legendX = PAD.left + 4;
  for (const s of series) {
    g.strokeStyle = s.color;
    g.lineWidth = 2;
    g.beginPath();
    let drawing = false;
    for (const p of s.points) {
      if (p.t < t0 || !Number.isFinite(p.v)) {
        drawing = false;
        continue;
      }
      if (drawing) g.lineTo(x(p.t), y(p.v));
      else g.moveTo(x(p.t), y(p.v));
      drawing = true;
    }
    g.stroke();
    for (const p of s.points) {
      if (p.t < t0 || !Number.isFinite(p.v)) continue;
      g.fillStyle = s.color;
      g.fillRect(x(p.t) - 1.5, y(p.v) - 1.5, 3, 3);
    }
    g.fillStyle = s.color;
    g.fillText(s.name, legendX, PAD.top + 2);
    legendX += g.measureText(s.name).width + 16;
  }
  // How many points are plotted: the tests and screen readers can tell an empty chart.
  const shown = series.reduce(
    (n, s) => n + s.points.filter((p) => p.t >= t0 && Number.isFinite(p.v)).length,
    0,
  );
  canvas.dataset.points = String(shown);
  canvas.setAttribute(
    'aria-label',
    series
      .map(
        (s) =>
          `${s.name}: ${s.points.length ? formatValue(s.points[s.points.length - 1].v) : 'none'}`,
      )
      .join(', '),
  );
}
