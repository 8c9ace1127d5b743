// Face-chart planner: SVG face from /api/anatomy, points added by tap, moved by drag,
// units edited in the table; every change asks the model for a preview (/api/.../preview).
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
  let fieldLayer, pointLayer;

  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  const poly = (pts) => pts.map(([x, y]) => `${x},${-y}`).join(" ");
  const ring = (pts) => "M" + pts.map(([x, y]) => `${x},${-y}`).join(" L") + " Z";

  function draw() {
    const [[x0, y0], [x1, y1]] = face.window;
    svg.setAttribute("viewBox", `${x0} ${-y1} ${x1 - x0} ${y1 - y0}`);
    el("rect", { x: x0, y: -y1, width: x1 - x0, height: y1 - y0, class: "skin" }, svg);
    for (const [name, pts] of Object.entries(face.areas)) {
      el("polygon", { points: poly(pts), class: "area" }, svg).appendChild(title(name));
    }
    for (const m of face.muscles) {
      // a ring muscle (orbicularis oculi) has a hole: one path, outline and hole, filled even-odd
      const attrs = { class: "muscle " + m.role, "data-muscle": m.name };
      const p = m.hole
        ? el("path", { ...attrs, d: `${ring(m.polygon)} ${ring(m.hole)}`, "fill-rule": "evenodd" }, svg)
        : el("polygon", { ...attrs, points: poly(m.polygon) }, svg);
      p.appendChild(title(m.name.replace(/_/g, " ")));
      muscleEls[m.name] = p;
    }
    const step = face.danger_cells.step_mm;
    const danger = el("g", { class: "danger" }, svg);
    for (const [x, y, level] of face.danger_cells.cells) {
      el("rect", { x: x - step / 2, y: -y - step / 2, width: step, height: step, class: "danger-" + level }, danger);
    }
    for (const side of Object.keys(face.orbital_rim || {})) {
      el("polyline", { points: poly(face.orbital_rim[side].concat([face.orbital_rim[side][0]])), class: "rim" }, svg);
    }
    for (const [name, [x, y]] of Object.entries(face.landmarks)) {
      el("circle", { cx: x, cy: -y, r: 0.8, class: "landmark" }, svg).appendChild(title(name));
    }
    fieldLayer = el("g", { class: "field" }, svg);
    for (const [name, [x, y]] of Object.entries(face.sites)) {
      const c = el("circle", { cx: x, cy: -y, r: 2.2, class: "site", "data-site": name }, svg);
      c.appendChild(title(name.replace(/_/g, " ")));
      c.addEventListener("click", (ev) => { ev.stopPropagation(); addPoint({ site: name, x_mm: x, y_mm: y }); });
    }
    pointLayer = el("g", {}, svg);
    svg.addEventListener("click", (ev) => {
      if (ev.target.closest(".point")) return;
      const [x, y] = toFace(ev);
      addPoint({ site: null, x_mm: round(x), y_mm: round(y) });
    });
  }

  function title(text) { const t = document.createElementNS(NS, "title"); t.textContent = text; return t; }
  const round = (v) => Math.round(v * 2) / 2;
  function toFace(ev) {
    const pt = svg.createSVGPoint();
    pt.x = ev.clientX; pt.y = ev.clientY;
    const p = pt.matrixTransform(svg.getScreenCTM().inverse());
    return [p.x, -p.y];
  }

  function addPoint(p) {
    points.push({ depth: "intramuscular", units: Number($("default_units").value) || 4, ...p });
    changed();
  }

  function renderPoints() {
    pointLayer.replaceChildren();
    points.forEach((p, i) => {
      const g = el("g", { class: "point", "data-index": i }, pointLayer);
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
      for (const v of ["intramuscular", "subcutaneous", "intradermal"]) d.add(new Option(v, v, false, v === p.depth));
      d.addEventListener("change", () => { p.depth = d.value; changed(false); });
      row.insertCell().appendChild(d);
      const rm = document.createElement("button");
      rm.type = "button"; rm.textContent = "remove";
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
      g.firstChild.setAttribute("cx", points[i].x_mm); g.firstChild.setAttribute("cy", -points[i].y_mm);
      g.lastChild.setAttribute("x", points[i].x_mm); g.lastChild.setAttribute("y", -points[i].y_mm + 1.1);
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
    box.appendChild(risks);
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
  for (const id of ["product", "vial_units", "diluent_ml"]) $(id).addEventListener("change", () => changed(false));

  fetch(`/api/anatomy?sex=${root.dataset.sex}`, { credentials: "same-origin" })
    .then((r) => r.json())
    .then((data) => { face = data; draw(); renderPoints(); root.dataset.ready = "1"; });
})();
