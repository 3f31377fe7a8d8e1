// wise-al dashboard: plots, the 3D frame viewer and the keyboard-driven review queue.
// Libraries (plotly, 3Dmol, htmx) are served by the app from npm packages; no CDN.
"use strict";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

// ---- plots -------------------------------------------------------------------------------
function drawPlot(el, figure) {
  if (!window.Plotly) { el.textContent = "plotly.js is not installed (run `make assets`)"; return; }
  Plotly.newPlot(el, figure.data, figure.layout, {responsive: true, displaylogo: false});
  el.dataset.drawn = String(figure.data.length);
}

function drawPlots(root) {
  root.querySelectorAll("[data-plot]").forEach((el) => drawPlot(el, JSON.parse(el.dataset.plot)));
  root.querySelectorAll("[data-plot-url]").forEach(async (el) => {
    const response = await fetch(el.dataset.plotUrl, {headers: {Accept: "application/json"}});
    if (response.ok) drawPlot(el, await response.json());
    else el.textContent = (await response.json()).message;
  });
}

// ---- 3D viewer ---------------------------------------------------------------------------
// σ_i from 0 (blue) through the trust window (yellow) to ≥ trust_hi (red).
function deviationColour(value, high) {
  const t = Math.max(0, Math.min(1, value / high));
  const stops = [[0, [49, 104, 178]], [0.5, [233, 196, 106]], [1, [208, 52, 44]]];
  const [a, b] = t < 0.5 ? [stops[0], stops[1]] : [stops[1], stops[2]];
  const u = (t - a[0]) / (b[0] - a[0]);
  const c = a[1].map((x, i) => Math.round(x + u * (b[1][i] - x)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function drawFrame(el) {
  const data = JSON.parse(document.getElementById("frame-data").textContent);
  const flagged = new Set(data.flagged);
  el.dataset.highlighted = data.flagged.join(",");
  el.dataset.contacts = data.contacts.map((c) => c.label).join("; ");
  if (!window.$3Dmol) { el.textContent = "3Dmol.js is not installed (run `make assets`)"; return; }
  const viewer = $3Dmol.createViewer(el, {backgroundColor: "white"});
  const xyz = [String(data.symbols.length), "frame"]
    .concat(data.symbols.map((s, i) => `${s} ${data.positions[i].join(" ")}`)).join("\n");
  const model = viewer.addModel(xyz, "xyz");
  const high = Number(el.closest("[data-trust-hi]")?.dataset.trustHi ?? 0.3);
  model.selectedAtoms({}).forEach((atom) => {
    const i = atom.index;
    const colour = data.deviation ? deviationColour(data.deviation[i], high) : undefined;
    const style = flagged.has(i)
      ? {sphere: {radius: 0.75, color: colour}, stick: {radius: 0.12, color: colour}}
      : {sphere: {scale: 0.25, color: colour}, stick: {radius: 0.12, color: colour}};
    if (!colour) { style.sphere.colorscheme = "Jmol"; style.stick.colorscheme = "Jmol"; }
    viewer.setStyle({index: i}, style);
    if (flagged.has(i)) {
      viewer.addLabel(`${data.symbols[i]} ${i}`, {position: atom, fontSize: 12, fontColor: "black",
        backgroundColor: "#ffe8a3", backgroundOpacity: 0.85, alignment: "bottomLeft"});
    }
  });
  data.contacts.forEach((c) => {
    const [from, to] = [c.from, c.to].map(([x, y, z]) => ({x, y, z}));
    viewer.addCylinder({start: from, end: to, radius: 0.08, color: "#d0342c", dashed: true});
    const mid = {x: (from.x + to.x) / 2, y: (from.y + to.y) / 2, z: (from.z + to.z) / 2};
    viewer.addLabel(c.label, {position: mid, fontSize: 14, fontColor: "#d0342c",
      backgroundColor: "white", backgroundOpacity: 0.9, borderColor: "#d0342c", borderThickness: 1});
  });
  if (data.cell) {
    const [a, b, c] = data.cell;
    const corner = (i, j, k) => ({x: i * a[0] + j * b[0] + k * c[0],
      y: i * a[1] + j * b[1] + k * c[1], z: i * a[2] + j * b[2] + k * c[2]});
    const edges = [[[0,0,0],[1,0,0]], [[0,0,0],[0,1,0]], [[0,0,0],[0,0,1]], [[1,0,0],[1,1,0]],
      [[1,0,0],[1,0,1]], [[0,1,0],[1,1,0]], [[0,1,0],[0,1,1]], [[0,0,1],[1,0,1]],
      [[0,0,1],[0,1,1]], [[1,1,0],[1,1,1]], [[1,0,1],[1,1,1]], [[0,1,1],[1,1,1]]];
    edges.forEach(([p, q]) => viewer.addLine({start: corner(...p), end: corner(...q), color: "#555"}));
  }
  viewer.zoomTo();
  viewer.render();
  el.dataset.rendered = "yes";
}

// ---- review queue ------------------------------------------------------------------------
function setupQueue(table) {
  const rows = () => Array.from(table.querySelectorAll("tbody tr[data-frame]"));
  const message = document.getElementById("queue-message");
  const canReview = table.dataset.canReview === "yes";
  let current = 0;

  const select = (k) => {
    const all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(all.length - 1, k));
    all.forEach((r, i) => r.classList.toggle("current", i === current));
    all[current].focus({preventScroll: true});
    all[current].scrollIntoView({block: "nearest"});
  };
  const say = (text, isError) => { message.textContent = text; message.classList.toggle("error", !!isError); };

  async function decide(row, decision, reason) {
    if (!canReview) { say("sign in to review: anonymous visitors can look but change nothing", true); return; }
    const body = new FormData();
    body.set("decision", decision);
    body.set("reason", reason ?? "");
    const response = await fetch(`/campaigns/${table.dataset.campaign}/frames/${row.dataset.frame}/review`, {
      method: "POST", body, credentials: "same-origin",
      headers: {"X-CSRF-Token": csrfToken(), Accept: "application/json"},
    });
    const result = await response.json();
    if (!response.ok) { say(`frame ${row.dataset.frame}: ${result.message}`, true); return; }
    row.classList.add("done", decision);
    row.querySelector(".decision").textContent = `${result.decision}ed by ${result.reviewer}`;
    if (decision === "reject") row.querySelector(".frame-status").textContent = "rejected";
    say(`frame ${row.dataset.frame} ${result.decision}ed`);
    select(current + 1);
  }

  function decidable(row) {
    if (!row) return false;
    if (!canReview) { say("sign in to review: anonymous visitors can look but change nothing", true); return false; }
    if (row.classList.contains("done")) { say(`frame ${row.dataset.frame} was reviewed already`, true); return false; }
    if (!row.querySelector("button[data-decision]")) { say(`frame ${row.dataset.frame} is not waiting for a decision`, true); return false; }
    return true;
  }

  function askReason(row) {
    const input = row.querySelector("input.reason");
    if (!input) return;
    input.hidden = false;
    input.focus();
  }

  table.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-decision]");
    if (!button) return;
    const row = button.closest("tr");
    select(rows().indexOf(row));
    if (button.dataset.decision === "accept") decide(row, "accept");
    else askReason(row);
  });
  table.addEventListener("keydown", (event) => {
    const input = event.target.closest("input.reason");
    if (!input) return;
    if (event.key === "Enter") {
      event.preventDefault();
      if (!input.value.trim()) { say("reason: say why the frame is rejected", true); return; }
      decide(input.closest("tr"), "reject", input.value.trim());
    } else if (event.key === "Escape") {
      input.hidden = true;
      select(current);
    }
    event.stopPropagation();
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.matches("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
    const row = rows()[current];
    const actions = {
      j: () => select(current + 1), ArrowDown: () => select(current + 1),
      k: () => select(current - 1), ArrowUp: () => select(current - 1),
      a: () => decidable(row) && decide(row, "accept"),
      r: () => decidable(row) && askReason(row),
      o: () => row && (window.location = row.querySelector("a").href),
      Enter: () => row && (window.location = row.querySelector("a").href),
    };
    const action = actions[event.key];
    if (action) { event.preventDefault(); action(); }
  });
  // start on the first frame still waiting for a decision
  const firstOpen = rows().findIndex((r) => !r.classList.contains("done") && r.querySelector("button[data-decision]"));
  select(Math.max(0, firstOpen));
  table.dataset.ready = "yes";
}

document.addEventListener("DOMContentLoaded", () => {
  drawPlots(document);
  document.querySelectorAll("[data-frame-viewer]").forEach(drawFrame);
  const queue = document.getElementById("queue");
  if (queue) setupQueue(queue);
});
