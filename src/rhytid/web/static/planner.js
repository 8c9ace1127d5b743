// Face-chart planner: an illustrated face (outline, hair, brows, eyes, nose from /api/anatomy's
// `chart`) with optional layers (muscles, danger zones, areas, landmarks), labelled sites, points
// added by tap (touch targets >= 44 px) and moved by drag, pinch or buttons to zoom; units edited
// in the table; every change asks the model for a preview (/api/.../preview).
"use strict";
(function () {
  const root = document.getElementById("planner");
  if (!root) return;
  const patient = root.dataset.patient;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const svg = document.getElementById("chart");
  const NS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  let face = null;
  let points = []; // {site, x_mm, y_mm, units, depth}
  let timer = null;
  let seq = 0;
  let muscleEls = {};
  const siteHits = {};
  let fieldLayer, pointLayer, labelLayer;
  let base, view, hitR = 2.6;

  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  const poly = (pts) => pts.map(([x, y]) => `${x},${-y}`).join(" ");
  const ring = (pts) => "M" + pts.map(([x, y]) => `${x},${-y}`).join(" L") + " Z";

  // drawing order: illustration, optional layers (areas, muscles, danger, landmarks), field,
  // named sites with their labels, the plan's points; the patient's L and R marked at the top
  function draw() {
    const c = face.chart;
    base = c.view.slice(); view = c.view.slice();
    setView();
    const defs = el("defs", {}, svg);
    el("path", { d: c.contour }, el("clipPath", { id: "face-clip" }, defs));
    const art = el("g", { class: "art" }, svg);
    el("rect", { x: c.view[0] - 50, y: c.view[1] - 50, width: c.view[2] + 100, height: c.view[3] + 100, class: "backdrop" }, art);
    el("path", { d: c.contour, class: "skin" }, art);
    el("path", { d: c.hair, class: "hair", "clip-path": "url(#face-clip)" }, art);
    el("path", { d: c.contour, class: "outline" }, art);
    for (const d of c.nose) el("path", { d, class: "nose" }, art);
    for (const e of c.eyes) {
      el("path", { d: e.almond }, el("clipPath", { id: `eye-${e.side}` }, defs));
      el("path", { d: e.almond, class: "eye-white" }, art);
      const [ix, iy, ir] = e.iris;
      const g = el("g", { "clip-path": `url(#eye-${e.side})` }, art);
      el("circle", { cx: ix, cy: iy, r: ir, class: "iris" }, g);
      el("circle", { cx: ix, cy: iy, r: e.pupil, class: "pupil" }, g);
      el("path", { d: e.almond, class: "eye-line" }, art);
      el("path", { d: e.upper_lid, class: "lid" }, art);
      el("path", { d: e.crease, class: "crease" }, art);
    }
    for (const d of c.brows) el("path", { d, class: "brow" }, art);
    const areas = el("g", { class: "layer layer-areas" }, svg);
    for (const [name, pts] of Object.entries(face.areas)) {
      el("polygon", { points: poly(pts), class: "area" }, areas).appendChild(title(name.replace(/_/g, " ")));
    }
    const muscles = el("g", { class: "layer layer-muscles" }, svg);
    for (const m of face.muscles) {
      // a ring muscle (orbicularis oculi) has a hole: one path, outline and hole, filled even-odd
      const attrs = { class: "muscle " + m.role, "data-muscle": m.name };
      const p = m.hole
        ? el("path", { ...attrs, d: `${ring(m.polygon)} ${ring(m.hole)}`, "fill-rule": "evenodd" }, muscles)
        : el("polygon", { ...attrs, points: poly(m.polygon) }, muscles);
      p.appendChild(title(m.name.replace(/_/g, " ")));
      muscleEls[m.name] = p;
    }
    const danger = el("g", { class: "layer layer-danger danger" }, svg);
    for (const z of c.danger) {
      el("path", { d: z.d, class: `zone danger-${z.level} zone-${z.kind}`, "data-zone": `${z.kind}_${z.side}` }, danger)
        .appendChild(title(ZONES[z.kind]));
    }
    for (const g of c.guides) el("path", { d: g.d, class: "guide", "data-guide": g.kind }, danger).appendChild(title(GUIDES[g.kind]));
    for (const side of Object.keys(face.orbital_rim || {})) {
      el("polyline", { points: poly(face.orbital_rim[side]), class: "rim" }, svg);
    }
    const marks = el("g", { class: "layer layer-landmarks" }, svg);
    for (const [name, [x, y]] of Object.entries(face.landmarks)) {
      el("circle", { cx: x, cy: -y, r: 0.8, class: "landmark" }, marks).appendChild(title(name.replace(/_/g, " ")));
    }
    fieldLayer = el("g", { class: "field" }, svg);
    const sites = el("g", { class: "sites" }, svg);
    labelLayer = el("g", { class: "labels" }, svg);
    for (const [name, [x, y]] of Object.entries(face.sites)) {
      const g = el("g", { class: "site-target", "data-target": name }, sites);
      siteHits[name] = el("rect", { class: "hit", "data-site": name }, g);
      el("circle", { cx: x, cy: -y, r: 2.2, class: "site", "data-site": name }, g).appendChild(title(name.replace(/_/g, " ")));
      const l = c.labels[name];
      if (l) el("text", { x: l.x, y: l.y, "text-anchor": l.anchor, class: "site-label", "data-label": name }, labelLayer).textContent = l.text;
    }
    const [lx, ly] = c.sides.l, [rx, ry] = c.sides.r;
    el("text", { x: lx, y: ly, "text-anchor": "end", class: "side-mark", id: "side-l" }, svg).textContent = "Patient's L";
    el("text", { x: rx, y: ry, "text-anchor": "start", class: "side-mark", id: "side-r" }, svg).textContent = "Patient's R";
    pointLayer = el("g", {}, svg);
    svg.addEventListener("click", onChartClick);
    svg.addEventListener("pointerdown", pinchDown);
    svg.addEventListener("pointermove", pinchMove);
    for (const t of ["pointerup", "pointercancel"]) svg.addEventListener(t, pinchUp);
    new ResizeObserver(() => sizeTargets()).observe(svg);
    window.addEventListener("resize", sizeTargets);
    sizeTargets();
  }

  const DEPTHS = [["intramuscular", "IM"], ["subcutaneous", "SC"], ["intradermal", "ID"]];
  const ZONES = {
    supraorbital: "within 1 cm of the orbital rim: toxin reaches the levator (eyelid droop)",
    levator: "levator palpebrae behind the orbital septum",
  };
  const GUIDES = { forehead: "forehead points above this line (2 cm above the brow)" };

  // --- zoom (buttons and two-finger pinch) and touch-sized targets ---------------------------
  function setView() { svg.setAttribute("viewBox", view.map((v) => v.toFixed(2)).join(" ")); }
  const pxPerMm = () => (svg.getBoundingClientRect().width || 1) / view[2];
  const coarse = () => matchMedia("(pointer: coarse)").matches || matchMedia("(any-pointer: coarse)").matches;

  // a touch target is at least 44 CSS px across, a mouse target at least 24 px
  const targetR = () => Math.max(2.6, (coarse() ? 22 : 12) / pxPerMm());
  function sizeTargets() {
    const k = pxPerMm();
    const r = targetR();
    for (const [name, rect] of Object.entries(siteHits)) {
      const [x, y] = face.sites[name];
      Object.entries({ x: x - r, y: -y - r, width: 2 * r, height: 2 * r, rx: r }).forEach(([a, v]) => rect.setAttribute(a, v.toFixed(2)));
    }
    hitR = r;
    labelLayer.setAttribute("font-size", Math.min(4.2, Math.max(2.4, 10 / k)).toFixed(2)); // ~10 px
    renderPoints();
  }

  function zoom(factor, cx, cy) {
    const w = Math.min(base[2], Math.max(base[2] / 5, view[2] * factor));
    const f = w / view[2];
    const px = cx ?? view[0] + view[2] / 2, py = cy ?? view[1] + view[3] / 2;
    view = [px - (px - view[0]) * f, py - (py - view[1]) * f, w, view[3] * f];
    if (w >= base[2]) view = base.slice();
    setView(); sizeTargets();
  }

  const touches = new Map();
  let pinch = null, pinchedAt = 0;
  function svgPoint(ev) {
    const pt = svg.createSVGPoint(); pt.x = ev.clientX; pt.y = ev.clientY;
    return pt.matrixTransform(svg.getScreenCTM().inverse());
  }
  function pinchDown(ev) {
    if (ev.pointerType !== "touch") return;
    touches.set(ev.pointerId, [ev.clientX, ev.clientY]);
    if (touches.size === 2) {
      const [a, b] = [...touches.values()];
      pinch = { d: Math.hypot(a[0] - b[0], a[1] - b[1]) || 1, view: view.slice(), mid: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2] };
    }
  }
  function pinchMove(ev) {
    if (!touches.has(ev.pointerId)) return;
    touches.set(ev.pointerId, [ev.clientX, ev.clientY]);
    if (!pinch || touches.size !== 2) return;
    const [a, b] = [...touches.values()];
    const d = Math.hypot(a[0] - b[0], a[1] - b[1]) || 1;
    const rect = svg.getBoundingClientRect();
    const w = Math.min(base[2], Math.max(base[2] / 5, pinch.view[2] * pinch.d / d));
    const s = w / rect.width;
    // the face point under the first midpoint stays under the fingers' midpoint
    const fx = pinch.view[0] + (pinch.mid[0] - rect.left) * pinch.view[2] / rect.width;
    const fy = pinch.view[1] + (pinch.mid[1] - rect.top) * pinch.view[2] / rect.width;
    const mx = (a[0] + b[0]) / 2 - rect.left, my = (a[1] + b[1]) / 2 - rect.top;
    view = [fx - mx * s, fy - my * s, w, pinch.view[3] * w / pinch.view[2]];
    setView(); pinchedAt = Date.now();
  }
  function pinchUp(ev) {
    touches.delete(ev.pointerId);
    if (pinch && touches.size < 2) { pinch = null; sizeTargets(); }
  }

  function onChartClick(ev) {
    if (ev.target.closest(".point") || Date.now() - pinchedAt < 400) return;
    const direct = ev.target.closest("[data-site]");
    if (direct) { const n = direct.dataset.site; const [x, y] = face.sites[n]; addPoint({ site: n, x_mm: x, y_mm: y }); return; }
    const [x, y] = toFace(ev);
    // a tap within a target's reach of a named site is that site (the nearest one)
    let best = null, bestD = targetR();
    for (const [n, [sx, sy]] of Object.entries(face.sites)) {
      const d = Math.hypot(sx - x, sy - y);
      if (d <= bestD) { best = n; bestD = d; }
    }
    if (best) { const [sx, sy] = face.sites[best]; addPoint({ site: best, x_mm: sx, y_mm: sy }); return; }
    const [[x0, y0], [x1, y1]] = face.window;
    if (x < x0 || x > x1 || y < y0 || y > y1) return; // outside the modelled upper face
    addPoint({ site: null, x_mm: round(x), y_mm: round(y) });
  }

  function title(text) { const t = document.createElementNS(NS, "title"); t.textContent = text; return t; }
  const round = (v) => Math.round(v * 2) / 2;
  function toFace(ev) { const p = svgPoint(ev); return [p.x, -p.y]; }

  function addPoint(p) {
    points.push({ depth: "intramuscular", units: Number($("default_units").value) || 4, ...p });
    changed();
  }

  function renderPoints() {
    pointLayer.replaceChildren();
    points.forEach((p, i) => {
      const g = el("g", { class: "point", "data-index": i }, pointLayer);
      el("rect", { class: "hit", x: p.x_mm - hitR, y: -p.y_mm - hitR, width: 2 * hitR, height: 2 * hitR, rx: hitR }, g);
      el("circle", { cx: p.x_mm, cy: -p.y_mm, r: 2.6 }, g);
      const t = el("text", { x: p.x_mm, y: -p.y_mm + 1.1, "text-anchor": "middle" }, g);
      t.textContent = String(i + 1);
      g.addEventListener("pointerdown", (ev) => startDrag(ev, i, g));
    });
    const table = $("points");
    table.replaceChildren();
    const head = table.insertRow();
    ["#", "Where", "Units", "Depth", ""].forEach((h) => { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); });
    points.forEach((p, i) => {
      const row = table.insertRow();
      row.insertCell().textContent = String(i + 1);
      row.insertCell().textContent = p.site ? p.site.replace(/_/g, " ") : `(${p.x_mm}, ${p.y_mm}) mm`;
      const u = document.createElement("input");
      Object.assign(u, { type: "number", min: 0.5, max: 100, step: 0.5, value: p.units, className: "units" });
      u.setAttribute("aria-label", `units of point ${i + 1}`);
      u.addEventListener("change", () => { p.units = Number(u.value); changed(false); });
      row.insertCell().appendChild(u);
      const d = document.createElement("select");
      for (const [v, short] of DEPTHS) { const o = new Option(short, v, false, v === p.depth); o.title = v; d.add(o); }
      d.setAttribute("aria-label", `depth of point ${i + 1}`);
      d.addEventListener("change", () => { p.depth = d.value; changed(false); });
      row.insertCell().appendChild(d);
      const rm = document.createElement("button");
      rm.type = "button"; rm.textContent = "Remove"; rm.className = "remove";
      rm.setAttribute("aria-label", `remove point ${i + 1}`);
      rm.addEventListener("click", () => { points.splice(i, 1); changed(); });
      row.insertCell().appendChild(rm);
    });
    const total = points.reduce((a, p) => a + p.units, 0);
    $("total").textContent = `${points.length} points, ${total} U`;
    $("save").disabled = points.length === 0;
    $("save-draft").disabled = points.length === 0;
  }

  function startDrag(ev, i, g) {
    ev.preventDefault(); ev.stopPropagation();
    g.setPointerCapture(ev.pointerId);
    let moved = false;
    const move = (e) => {
      const [x, y] = toFace(e);
      points[i] = { ...points[i], site: null, x_mm: round(x), y_mm: round(y) };
      const [hit, dot, label] = g.children;
      hit.setAttribute("x", points[i].x_mm - hitR); hit.setAttribute("y", -points[i].y_mm - hitR);
      dot.setAttribute("cx", points[i].x_mm); dot.setAttribute("cy", -points[i].y_mm);
      label.setAttribute("x", points[i].x_mm); label.setAttribute("y", -points[i].y_mm + 1.1);
      moved = true;
    };
    const up = () => {
      g.removeEventListener("pointermove", move); g.removeEventListener("pointerup", up);
      if (moved) changed();
    };
    g.addEventListener("pointermove", move); g.addEventListener("pointerup", up);
    g.addEventListener("click", (e) => e.stopPropagation(), { once: true });
  }

  function planBody(status = "ready") {
    return {
      status,
      product: $("product").value,
      vial_units: Number($("vial_units").value),
      diluent_ml: Number($("diluent_ml").value),
      injections: points.map((p) => p.site ? { site: p.site, units: p.units, depth: p.depth }
                                            : { x_mm: p.x_mm, y_mm: p.y_mm, units: p.units, depth: p.depth }),
    };
  }

  function changed(redraw = true) {
    if (redraw) renderPoints(); else renderPoints();
    clearTimeout(timer);
    if (points.length === 0) { showPreview(null); return; }
    timer = setTimeout(runPreview, 120);
  }

  async function api(path, body) {
    const r = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    });
    const data = await r.json().catch(() => ({ detail: `HTTP ${r.status}` }));
    return { ok: r.ok, data };
  }

  async function runPreview() {
    const mine = ++seq;
    const box = $("preview");
    box.classList.add("busy");
    const { ok, data } = await api(`/api/patients/${patient}/preview`, planBody());
    if (mine !== seq) return;
    box.classList.remove("busy");
    if (!ok) { showPreview(null, data.detail); box.dataset.seq = String(mine); return; }
    showPreview(data);
    box.dataset.seq = String(mine);
  }

  function cell(row, text, cls) { const c = row.insertCell(); c.textContent = text; if (cls) c.className = cls; return c; }

  function showPreview(data, error) {
    const box = $("preview");
    box.replaceChildren();
    const h = document.createElement("h2"); h.textContent = "Preview (day 30)"; box.appendChild(h);
    fieldLayer.replaceChildren();
    for (const m of Object.values(muscleEls)) m.removeAttribute("fill-opacity");
    if (error) { const p = document.createElement("p"); p.className = "error"; p.textContent = error; box.appendChild(p); return; }
    if (!data) return;
    const step = data.field.step_mm;
    for (const [x, y, v] of data.field.cells) {
      el("rect", { x: x - step / 2, y: -y - step / 2, width: step, height: step, "fill-opacity": (0.55 * v).toFixed(2) }, fieldLayer);
    }
    const t = document.createElement("table"); t.id = "grades";
    const hr = t.insertRow(); ["Area", "Rest now → 30 d", "Max now → 30 d"].forEach((x) => cell(hr, x));
    for (const [area, s] of Object.entries(data.day30.areas)) {
      const b = data.baseline[area];
      const r = t.insertRow(); r.dataset.area = area;
      cell(r, area.replace(/_/g, " "));
      cell(r, `${b.rest.grade} → ${s.rest.grade}`);
      cell(r, `${b.max.grade} → ${s.max.grade}`, "grade-max");
    }
    box.appendChild(t);
    const bl = document.createElement("p"); bl.className = "meta";
    bl.textContent = "Block at day 30: " + Object.entries(data.day30.muscles).filter(([, v]) => v.block >= 0.05)
      .map(([k, v]) => `${k.replace(/_/g, " ")} ${Math.round(v.block * 100)}%`).join(", ");
    box.appendChild(bl);
    for (const [name, v] of Object.entries(data.day30.muscles)) {
      if (muscleEls[name]) muscleEls[name].setAttribute("fill-opacity", (0.15 + 0.7 * v.block).toFixed(2));
    }
    const risks = document.createElement("ul"); risks.id = "risks";
    for (const r of data.risks) { const li = document.createElement("li"); li.className = "risk-" + r.level; li.textContent = `${r.level} risk: ${r.kind.replace(/_/g, " ")} (${r.side}) — ${r.detail}`; risks.appendChild(li); }
    // every finding of the review, blocking ones first; a blocked plan can only be a draft
    for (const f of data.check.findings) { const li = document.createElement("li"); li.className = "sev-" + f.severity; li.dataset.code = f.code; li.textContent = `${f.severity}: ${f.reason}`; risks.appendChild(li); }
    const status = document.createElement("p"); status.id = "review-status";
    status.className = data.check.blocking ? "error" : "meta";
    status.textContent = data.check.blocking
      ? `Blocked (${data.check.findings.filter((f) => f.severity === "blocking").length}): this plan can be saved only as a draft.`
      : data.check.acknowledge.length ? "Ready to save; acknowledge the marked findings before recording." : "Nothing blocks this plan.";
    box.appendChild(status);
    $("save").disabled = data.check.blocking;
    if (!risks.children.length) { const li = document.createElement("li"); li.textContent = "No risks or rule findings."; risks.appendChild(li); }
    box.insertBefore(risks, h.nextSibling); // risks first: beside the chart on a tablet
    const meta = document.createElement("p"); meta.className = "meta";
    meta.textContent = `${data.plan.total_units} U ${data.plan.product}, ${data.plan.units_per_ml} U/mL · model ${data.model_version}`;
    box.appendChild(meta);
  }

  async function labelPattern() {
    const r = await fetch(`/api/label-pattern?area=glabellar&product=${encodeURIComponent($("product").value)}`, { credentials: "same-origin" });
    if (!r.ok) return;
    const pattern = await r.json();
    points = Object.entries(pattern).map(([site, units]) => ({
      site, x_mm: face.sites[site][0], y_mm: face.sites[site][1], units: Math.round(units * 10) / 10, depth: "intramuscular",
    }));
    changed();
  }

  async function save(status) {
    $("save").disabled = true;
    const { ok, data } = await api(`/api/patients/${patient}/plans`, planBody(status));
    if (!ok) { const e = $("save-error"); e.hidden = false; e.textContent = data.detail.replace(/^status: /, ""); $("save").disabled = false; return; }
    window.location.href = `/patients/${patient}/treatments/new?plan_id=${data.id}`;
  }

  $("label-glabellar").addEventListener("click", labelPattern);
  $("clear").addEventListener("click", () => { points = []; changed(); });
  $("save").addEventListener("click", () => save("ready"));
  $("save-draft").addEventListener("click", () => save("draft"));
  $("zoom-in").addEventListener("click", () => zoom(1 / 1.5));
  $("zoom-out").addEventListener("click", () => zoom(1.5));
  $("zoom-reset").addEventListener("click", () => { view = base.slice(); setView(); sizeTargets(); });
  for (const layer of ["muscles", "danger", "areas", "landmarks"]) {
    const box = $(`layer-${layer}`);
    const apply = () => svg.classList.toggle(`hide-${layer}`, !box.checked);
    box.addEventListener("change", apply); apply();
  }
  for (const id of ["product", "vial_units", "diluent_ml"]) $(id).addEventListener("change", () => changed(false));

  fetch(`/api/anatomy?sex=${root.dataset.sex}`, { credentials: "same-origin" })
    .then((r) => r.json())
    .then((data) => { face = data; draw(); renderPoints(); root.dataset.ready = "1"; });
})();
