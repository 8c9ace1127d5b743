// Face-chart planner: an illustrated face (outline, hair, brows, eyes, nose from /api/anatomy's
// `chart`) with optional layers (muscles, danger zones, areas, landmarks), labelled sites, points
// added by tap (touch targets >= 44 px) and moved by drag, pinch or buttons to zoom; units edited
// in the table; every change asks the model for a preview (/api/.../preview): the timeline with a
// day slider (grades from the patient's latest assessment, block, brow and lid drawn on the face),
// one message per point (its worst level; a blocking point turns red), and depth maps before and
// on the chosen day (/preview/maps). Every edit is one undo step and is kept as a server-side draft;
// switching the product converts the units explicitly (approximate ratios flagged).
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
  let fieldLayer, browLayer, pointLayer, labelLayer;
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
    browLayer = el("g", { class: "brow-lid" }, svg);
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

  // a point's class: its own worst finding (fill), and a ring when it causes a whole-plan risk
  function pointClass(i) {
    const sev = severity[i + 1], ring = planRisk[i + 1];
    return "point" + (sev ? ` sev-${sev}` : "") + (ring ? ` plan-risk ring-${ring}` : "");
  }
  function pointTitle(i) {
    const sev = severity[i + 1], causes = planRiskWords[i + 1] || [];
    const parts = [sev ? `point ${i + 1}: ${sev}` : `point ${i + 1}`, ...causes];
    return parts.join("; ");
  }

  function renderPoints() {
    pointLayer.replaceChildren();
    points.forEach((p, i) => {
      const g = el("g", { class: pointClass(i), "data-index": i }, pointLayer);
      el("rect", { class: "hit", x: p.x_mm - hitR, y: -p.y_mm - hitR, width: 2 * hitR, height: 2 * hitR, rx: hitR }, g);
      el("circle", { cx: p.x_mm, cy: -p.y_mm, r: 3.6, class: "ring" }, g);
      el("circle", { cx: p.x_mm, cy: -p.y_mm, r: 2.6, class: "dot" }, g);
      const t = el("text", { x: p.x_mm, y: -p.y_mm + 1.1, "text-anchor": "middle" }, g);
      t.textContent = String(i + 1);
      g.appendChild(title(pointTitle(i)));
      g.addEventListener("pointerdown", (ev) => startDrag(ev, i, g));
    });
    const table = $("points");
    table.replaceChildren();
    const head = table.insertRow();
    ["#", "Where", "Units", "Depth", ""].forEach((h) => { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); });
    points.forEach((p, i) => {
      const row = table.insertRow();
      if (severity[i + 1]) row.className = `sev-${severity[i + 1]}`;
      row.insertCell().textContent = String(i + 1);
      row.insertCell().textContent = p.site ? p.site.replace(/_/g, " ") : `(${p.x_mm}, ${p.y_mm}) mm`;
      const u = document.createElement("input");
      Object.assign(u, { type: "number", min: 0.5, max: 100, step: 0.5, value: p.units, className: "units" });
      u.setAttribute("aria-label", `units of point ${i + 1}`);
      u.addEventListener("change", () => { p.units = Number(u.value); changed(); });
      row.insertCell().appendChild(u);
      const d = document.createElement("select");
      for (const [v, short] of DEPTHS) { const o = new Option(short, v, false, v === p.depth); o.title = v; d.add(o); }
      d.setAttribute("aria-label", `depth of point ${i + 1}`);
      d.addEventListener("change", () => { p.depth = d.value; changed(); });
      row.insertCell().appendChild(d);
      const rm = document.createElement("button");
      rm.type = "button"; rm.textContent = "Remove"; rm.className = "remove";
      rm.setAttribute("aria-label", `remove point ${i + 1}`);
      rm.addEventListener("click", () => { points.splice(i, 1); changed(); });
      row.insertCell().appendChild(rm);
    });
    const total = points.reduce((a, p) => a + p.units, 0);
    $("total").textContent = `${points.length} points, ${total} U`;
    $("save").disabled = points.length === 0 || Boolean(lastPreview && lastPreview.check.blocking);
    $("save-draft").disabled = points.length === 0;
  }

  // a point's worst finding colours its dot and its row in place (no re-render under the finger)
  function markSeverity() {
    pointLayer.querySelectorAll("g.point").forEach((g) => {
      const i = Number(g.dataset.index);
      g.setAttribute("class", pointClass(i));
      g.querySelector("title").textContent = pointTitle(i);
    });
    [...$("points").rows].slice(1).forEach((row, i) => { row.className = severity[i + 1] ? `sev-${severity[i + 1]}` : ""; });
    $("save").disabled = points.length === 0 || Boolean(lastPreview && lastPreview.check.blocking);
  }

  function startDrag(ev, i, g) {
    ev.preventDefault(); ev.stopPropagation();
    g.setPointerCapture(ev.pointerId);
    let moved = false;
    const move = (e) => {
      const [x, y] = toFace(e);
      points[i] = { ...points[i], site: null, x_mm: round(x), y_mm: round(y) };
      const [hit, ring, dot, label] = g.children;
      hit.setAttribute("x", points[i].x_mm - hitR); hit.setAttribute("y", -points[i].y_mm - hitR);
      for (const c of [ring, dot]) { c.setAttribute("cx", points[i].x_mm); c.setAttribute("cy", -points[i].y_mm); }
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

  // --- the plan as data: snapshots for undo/redo, the server-side draft -----------------------
  const settings = () => ({
    product: $("product").value,
    vial_units: Number($("vial_units").value),
    diluent_ml: Number($("diluent_ml").value),
  });
  const snapshot = () => JSON.stringify({ ...settings(), points });
  let current = null;
  const undoStack = [], redoStack = [];
  let draftTimer = null;

  function restore(text) {
    const s = JSON.parse(text);
    $("product").value = s.product; productNow = s.product;
    $("vial_units").value = s.vial_units; $("diluent_ml").value = s.diluent_ml;
    points = s.points.map((p) => ({ ...p }));
  }

  function planBody(status = "ready") {
    return {
      status, ...settings(),
      injections: points.map((p) => p.site ? { site: p.site, units: p.units, depth: p.depth }
                                            : { x_mm: p.x_mm, y_mm: p.y_mm, units: p.units, depth: p.depth }),
    };
  }

  // every edit: one undo step (when the plan really changed), the table, a preview, the draft
  function changed() {
    const now = snapshot();
    if (current !== null && now !== current) { undoStack.push(current); redoStack.length = 0; }
    current = now;
    refresh();
  }
  function refresh() {
    $("undo").disabled = undoStack.length === 0;
    $("redo").disabled = redoStack.length === 0;
    // a focused button that is now disabled would swallow the keyboard shortcuts
    if (document.activeElement && document.activeElement.disabled) document.activeElement.blur();
    renderPoints();
    clearTimeout(timer);
    scheduleDraft();
    if (points.length === 0) { showPreview(null); return; }
    timer = setTimeout(runPreview, 0); // same-tick edits share one preview
  }
  function step(from, to) {
    if (!from.length) return;
    to.push(current); current = from.pop(); restore(current); refresh();
  }
  function scheduleDraft() {
    clearTimeout(draftTimer);
    draftTimer = setTimeout(saveDraft, 250);
  }
  async function saveDraft() {
    const body = { ...settings(), default_units: Number($("default_units").value) || 4, day: days[dayIndex] ?? 30,
                   points: points.map(({ site, x_mm, y_mm, units, depth }) => ({ site: site || null, x_mm, y_mm, units, depth })) };
    const r = await send("PUT", `/api/patients/${patient}/plan-draft`, body);
    const s = $("draft-status");
    if (r.ok) { draftSaves += 1; s.dataset.saved = String(draftSaves); s.className = "meta"; s.textContent = `Draft kept (${body.points.length} points, ${body.points.reduce((a, p) => a + p.units, 0)} U).`; }
    else { s.className = "error"; s.textContent = `Draft not kept: ${said(r.data)}`; }
  }
  let draftSaves = 0;

  async function send(method, path, body) {
    const r = await fetch(path, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = r.status === 204 ? {} : await r.json().catch(() => ({ detail: `the server answered ${r.status}; try again` }));
    return { ok: r.ok, data };
  }
  // an error for a person: the field in words ("Point 2 — units: must be at least 0.5"), not a code
  const said = (data) => data.message || data.detail;
  const api = (path, body) => send("POST", path, body);

  // --- preview: the timeline, one message per point, brow and lid, maps of the chosen day -----
  let lastPreview = null;
  let severity = {};
  let planRisk = {}, planRiskWords = {}; // point (1-based) → worst whole-plan risk it causes; its words
  let days = [0, 2, 7, 14, 30, 60, 90, 120, 150, 180];
  let dayIndex = 4;
  let mapsSeq = 0, mapsTimer = null;

  async function runPreview() {
    const mine = ++seq;
    const box = $("preview");
    box.classList.add("busy");
    const started = performance.now();
    const { ok, data } = await api(`/api/patients/${patient}/preview`, planBody());
    if (mine !== seq) return;
    box.classList.remove("busy");
    if (!ok) { showPreview(null, said(data)); box.dataset.seq = String(mine); return; }
    showPreview(data);
    box.dataset.seq = String(mine);
    requestAnimationFrame(() => { box.dataset.painted = String(mine); box.dataset.ms = (performance.now() - started).toFixed(1); });
    scheduleMaps(0);
  }

  function cell(row, text, cls) { const c = row.insertCell(); c.textContent = text; if (cls) c.className = cls; return c; }
  const words = (s) => s.replace(/_/g, " ");

  function showPreview(data, error) {
    lastPreview = data || null;
    severity = {}; planRisk = {}; planRiskWords = {};
    for (const m of Object.values(muscleEls)) m.classList.remove("risk-muscle", "risk-blocking", "risk-warning", "risk-note");
    const risks = $("risks");
    risks.replaceChildren();
    fieldLayer.replaceChildren();
    browLayer.replaceChildren();
    $("maps").replaceChildren();
    for (const m of Object.values(muscleEls)) m.removeAttribute("fill-opacity");
    for (const id of ["grades-source", "brow-lid", "model-meta", "engine-note"]) $(id).textContent = "";
    $("grades").replaceChildren();
    $("day").disabled = !data;
    const status = $("review-status");
    if (error || !data) {
      risks.hidden = !error; status.hidden = true;
      $("blocks").textContent = error ? "" : "Add points to see the model's prediction.";
      if (error) { const li = document.createElement("li"); li.className = "error"; li.textContent = error; risks.appendChild(li); }
      markSeverity();
      return;
    }
    days = data.days;
    const slider = $("day");
    slider.max = String(days.length - 1);
    if (dayIndex > days.length - 1) dayIndex = days.indexOf(30);
    slider.value = String(dayIndex);
    // one message per point (its worst level), then the findings about the whole plan
    for (const m of data.messages) {
      severity[m.injection] = m.severity;
      const li = document.createElement("li");
      li.className = `msg sev-${m.severity}`; li.dataset.injection = String(m.injection); li.dataset.codes = m.codes.join(" ");
      li.textContent = m.text; risks.appendChild(li);
    }
    // the model's whole-plan risks: the points that cause them ringed, the muscle outlined
    const RANK = { note: 1, warning: 2, blocking: 3 };
    for (const r of data.plan_risks) {
      for (const n of r.points) {
        if (!planRisk[n] || RANK[r.severity] > RANK[planRisk[n]]) planRisk[n] = r.severity;
        (planRiskWords[n] = planRiskWords[n] || []).push(`causes ${words(r.kind)} (${r.severity})`);
      }
      const m = r.muscle && muscleEls[r.muscle];
      if (m) m.classList.add("risk-muscle", `risk-${r.severity}`);
    }
    for (const f of data.plan_findings) {
      const li = document.createElement("li");
      li.className = "sev-" + f.severity; li.dataset.code = f.code;
      const r = data.plan_risks.find((x) => x.code === f.code && x.text === f.reason);
      const from = r && r.points.length ? ` — from point${r.points.length > 1 ? "s" : ""} ${r.points.join(", ")} (ringed on the chart)` : "";
      const muscle = r && r.muscle ? `; ${words(r.muscle)} outlined` : "";
      if (r) { li.dataset.points = r.points.join(" "); li.classList.add("plan-risk"); }
      li.textContent = `${f.severity}: ${words(f.reason)}${from}${muscle}`; risks.appendChild(li);
    }
    if (!risks.children.length) { const li = document.createElement("li"); li.textContent = "No risks or rule findings."; risks.appendChild(li); }
    risks.hidden = false;
    status.hidden = false;
    status.className = data.check.blocking ? "error" : "meta";
    status.textContent = data.check.blocking
      ? `Blocked (${data.check.findings.filter((f) => f.severity === "blocking").length}): this plan can be saved only as a draft.`
      : data.check.acknowledge.length ? "Ready to save; acknowledge the marked findings before recording." : "Nothing blocks this plan.";
    $("grades-source").textContent = data.baseline.source === "assessment"
      ? `Grades start from this patient's assessment of ${data.baseline.assessed_on}; the model gives the change.`
      : "No assessment on file: grades are the model's for a reference face of this sex and age.";
    $("model-meta").textContent = `${data.plan.total_units} U ${data.plan.product}, ${data.plan.units_per_ml} U/mL · model ${data.model_version}`;
    $("engine-note").textContent = data.engine.text || "";
    markSeverity();
    showDay();
  }

  // the chosen day: grades, block shading, brow and lid lines (maps follow from the server)
  function showDay() {
    const data = lastPreview;
    const day = days[dayIndex];
    $("day-label").textContent = String(day);
    $("day").setAttribute("aria-valuetext", `day ${day}`);
    $("preview-title").textContent = `Preview (day ${day})`;
    if (!data) return;
    const visit = data.timeline[dayIndex], first = data.timeline[0];
    const t = $("grades");
    t.replaceChildren();
    const hr = t.insertRow(); ["Area", `Rest now → ${day} d`, `Max now → ${day} d`].forEach((x) => cell(hr, x));
    for (const [area, s] of Object.entries(visit.areas)) {
      const b = first.areas[area];
      const r = t.insertRow(); r.dataset.area = area; r.dataset.source = s.source;
      cell(r, words(area));
      cell(r, `${b.rest} → ${s.rest}`, "grade-rest");
      cell(r, `${b.max} → ${s.max}`, "grade-max");
    }
    const blocked = Object.entries(visit.muscles).filter(([, v]) => v >= 0.05);
    $("blocks").textContent = `Block on day ${day}: ` + (blocked.length ? blocked.map(([k, v]) => `${words(k)} ${Math.round(v * 100)}%`).join(", ") : "none above 5%");
    for (const [name, v] of Object.entries(visit.muscles)) {
      if (muscleEls[name]) muscleEls[name].setAttribute("fill-opacity", (0.15 + 0.7 * v).toFixed(2));
    }
    drawBrowLid(visit);
  }

  const fmt = (v) => `${v > 0 ? "+" : v < 0 ? "−" : ""}${Math.abs(v).toFixed(1)}`;
  function drawBrowLid(visit) {
    browLayer.replaceChildren();
    const brow = visit.brow_height_change_mm, droop = visit.eyelid_droop_mm;
    const k = $("exaggerate").checked ? 5 : 1; // drawn to scale, or five times the change
    const parts = [];
    for (const s of ["r", "l"]) {
      const keys = ["medial", "peak", "lateral"].filter((k) => face.landmarks[`brow_${k}_${s}`] && `${k}_${s}` in brow);
      const before = keys.map((k) => face.landmarks[`brow_${k}_${s}`]);
      const after = keys.map((n, i) => [before[i][0], before[i][1] + k * brow[`${n}_${s}`]]);
      el("polyline", { points: poly(before), class: "brow-before" }, browLayer);
      el("polyline", { points: poly(after), class: "brow-after", id: `brow-after-${s}`, "data-dy": keys.map((k) => brow[`${k}_${s}`]).join(" ") }, browLayer);
      const eye = face.chart.eyes.find((e) => e.side === s);
      if (eye) {
        el("path", { d: eye.upper_lid, class: "lid-before" }, browLayer);
        el("path", { d: eye.upper_lid, class: "lid-after", id: `lid-after-${s}`, transform: `translate(0 ${(k * (droop[s] || 0)).toFixed(2)})`, "data-droop": droop[s] || 0 }, browLayer);
      }
      const side = s === "l" ? "left" : "right";
      parts.push(`${side} brow ${keys.map((k) => `${k} ${fmt(brow[`${k}_${s}`])}`).join(", ")} mm; ${side} lid droop ${(droop[s] || 0).toFixed(1)} mm`);
    }
    const how = k === 1 ? "to scale" : `the change ×${k}`;
    $("brow-lid").textContent = `At rest on day ${days[dayIndex]} (drawn on the face, ${how}): ${parts.join("; ")}.`;
  }

  function scheduleMaps(wait) {
    clearTimeout(mapsTimer);
    mapsTimer = setTimeout(runMaps, wait);
  }
  async function runMaps() {
    if (!lastPreview || !points.length) return;
    const mine = ++mapsSeq;
    const box = $("maps");
    box.classList.add("busy");
    const { ok, data } = await api(`/api/patients/${patient}/preview/maps`, { plan: planBody(), day: days[dayIndex] });
    if (mine !== mapsSeq) return;
    box.classList.remove("busy");
    if (!ok) { box.textContent = `Maps: ${said(data)}`; return; }
    drawField(data.field);
    drawMaps(data);
    box.dataset.seq = String(mine);
    box.dataset.day = String(data.day);
  }

  function drawField(field) {
    fieldLayer.replaceChildren();
    const step = field.step_mm;
    for (const [x, y, v] of field.cells) {
      el("rect", { x: x - step / 2, y: -y - step / 2, width: step, height: step, "fill-opacity": (0.55 * v).toFixed(2) }, fieldLayer);
    }
  }

  const EXPRESSION_WORDS = { frown: "frown", raise_brows: "brows raised", smile: "smile", squint: "squint" };
  // depth 0 → pale, the map's scale → dark red (one scale for before and after)
  function colour(t) {
    const a = [255, 247, 236], b = [127, 0, 0];
    return a.map((v, i) => Math.round(v + (b[i] - v) * Math.min(1, Math.max(0, t))));
  }
  function paint(canvas, m, values) {
    const k = 4;
    canvas.width = m.nx * k; canvas.height = m.ny * k;
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(m.nx, m.ny);
    for (let j = 0; j < m.ny; j++) {
      for (let i = 0; i < m.nx; i++) {
        const [r, g, b] = colour(values[j * m.nx + i] / m.scale_um);
        const o = ((m.ny - 1 - j) * m.nx + i) * 4; // row 0 is the bottom: drawn last
        img.data[o] = r; img.data[o + 1] = g; img.data[o + 2] = b; img.data[o + 3] = 255;
      }
    }
    const off = document.createElement("canvas"); off.width = m.nx; off.height = m.ny;
    off.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
    canvas.dataset.sum = String(values.reduce((a, v) => a + v, 0));
  }
  function drawMaps(data) {
    const box = $("maps");
    box.replaceChildren();
    for (const m of data.maps) {
      const fig = document.createElement("figure");
      fig.dataset.expression = m.expression;
      const cap = document.createElement("figcaption");
      cap.textContent = `Wrinkle depth at maximum contraction (${EXPRESSION_WORDS[m.expression] || words(m.expression)}), ${m.areas.map(words).join(", ")}; darkest = ${m.scale_um} µm`;
      fig.appendChild(cap);
      const pair = document.createElement("div"); pair.className = "pair";
      for (const [which, values, label] of [["before", m.before_um, "Before"], ["after", m.after_um, `Day ${data.day}`]]) {
        const d = document.createElement("div");
        const c = document.createElement("canvas"); c.className = `map-${which}`;
        c.setAttribute("role", "img");
        c.setAttribute("aria-label", `${label}: wrinkle depth map, ${words(m.expression)}`);
        paint(c, m, values);
        const l = document.createElement("div"); l.className = "label"; l.textContent = label;
        d.append(c, l); pair.appendChild(d);
      }
      fig.appendChild(pair); box.appendChild(fig);
    }
    if (!data.maps.length) box.textContent = "No treated area to map.";
  }

  // --- product switch: units converted explicitly, approximate ratios flagged ---------------
  let productNow = null;
  async function switchProduct() {
    const to = $("product").value, from = productNow;
    productNow = to;
    const note = $("conversion");
    if (!from || from === to || !points.length) { note.hidden = true; changed(); return; }
    const { ok, data } = await api("/api/unit-conversion", { from_product: from, to_product: to, units: points.map((p) => p.units) });
    if (!ok) { note.hidden = false; note.className = "error"; note.textContent = said(data); return; }
    const was = points.map((p) => p.units);
    data.points.forEach((c, i) => { points[i].units = c.chosen; });
    const ex = data.points[0];
    note.hidden = false;
    note.className = "notice" + (data.approximate ? " approximate" : "");
    note.dataset.from = from; note.dataset.to = to;
    note.textContent = `Units converted from ${from} to ${to} (${data.rule}): ` +
      data.points.map((c, i) => `point ${i + 1} ${was[i]} → ${c.chosen} U (range ${c.low}–${c.high})`).join("; ") +
      `. ${data.warning} Sources: ${data.sources.join("; ")}.` + (ex ? "" : "");
    changed();
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

  async function loadLast() {
    const r = await send("GET", `/api/patients/${patient}/last-treatment`);
    const s = $("draft-status");
    if (!r.ok) { s.className = "error"; s.textContent = said(r.data); return; }
    const t = r.data.treatment;
    if (!t) { s.className = "meta"; s.textContent = "No treatment recorded for this patient yet."; return; }
    $("product").value = t.product; productNow = t.product;
    $("vial_units").value = t.vial_units; $("diluent_ml").value = t.diluent_ml;
    points = t.points.map((p) => ({ ...p, site: p.site && face.sites[p.site] ? p.site : null }));
    s.className = "meta"; s.textContent = `Loaded the treatment of ${t.performed} as a starting plan.`;
    changed();
  }

  async function save(status) {
    $("save").disabled = true;
    const { ok, data } = await api(`/api/patients/${patient}/plans`, planBody(status));
    if (!ok) { const e = $("save-error"); e.hidden = false; e.textContent = said(data).replace(/^Status: /, ""); $("save").disabled = false; return; }
    clearTimeout(draftTimer);
    await send("DELETE", `/api/patients/${patient}/plan-draft`);
    window.location.href = `/patients/${patient}/treatments/new?plan_id=${data.id}`;
  }

  $("label-glabellar").addEventListener("click", labelPattern);
  $("load-last").addEventListener("click", loadLast);
  $("clear").addEventListener("click", () => { points = []; changed(); });
  $("undo").addEventListener("click", () => step(undoStack, redoStack));
  $("redo").addEventListener("click", () => step(redoStack, undoStack));
  document.addEventListener("keydown", (ev) => {
    if (!(ev.ctrlKey || ev.metaKey) || ev.target.matches("input, select, textarea")) return;
    const k = ev.key.toLowerCase();
    if (k === "z" && !ev.shiftKey) { ev.preventDefault(); step(undoStack, redoStack); }
    else if ((k === "z" && ev.shiftKey) || k === "y") { ev.preventDefault(); step(redoStack, undoStack); }
  });
  $("save").addEventListener("click", () => save("ready"));
  $("save-draft").addEventListener("click", () => save("draft"));
  $("zoom-in").addEventListener("click", () => zoom(1 / 1.5));
  $("zoom-out").addEventListener("click", () => zoom(1.5));
  $("zoom-reset").addEventListener("click", () => { view = base.slice(); setView(); sizeTargets(); });
  $("day").addEventListener("input", () => { dayIndex = Number($("day").value); showDay(); scheduleMaps(120); scheduleDraft(); });
  for (const layer of ["muscles", "danger", "areas", "landmarks"]) {
    const box = $(`layer-${layer}`);
    const apply = () => svg.classList.toggle(`hide-${layer}`, !box.checked);
    box.addEventListener("change", apply); apply();
  }
  $("product").addEventListener("change", switchProduct);
  $("exaggerate").addEventListener("change", () => { if (lastPreview) drawBrowLid(lastPreview.timeline[dayIndex]); });
  for (const id of ["vial_units", "diluent_ml"]) $(id).addEventListener("change", () => changed());
  $("default_units").addEventListener("change", scheduleDraft);

  // start: the face, then this user's draft for this patient when there is one
  Promise.all([
    fetch(`/api/anatomy?sex=${root.dataset.sex}`, { credentials: "same-origin" }).then((r) => r.json()),
    send("GET", `/api/patients/${patient}/plan-draft`),
  ]).then(([data, draft]) => {
    face = data; draw();
    const st = draft.ok && draft.data.state;
    if (st) {
      restore(JSON.stringify(st));
      $("default_units").value = st.default_units;
      if (days.indexOf(st.day) >= 0) dayIndex = days.indexOf(st.day);
      $("draft-status").textContent = `Draft restored (${st.points.length} points, kept ${draft.data.kept}).`;
      $("draft-status").dataset.restored = "1";
    }
    productNow = $("product").value;
    current = snapshot();
    renderPoints();
    showDay();
    if (points.length) runPreview();
    root.dataset.ready = "1";
  });
})();
