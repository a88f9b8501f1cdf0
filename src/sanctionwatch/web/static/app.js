/* sanctionwatch web app: plain JavaScript over the JSON API (/api/openapi.json), Leaflet for the map.
 *
 * Hash routes: #/findings?filters, #/finding/ID, #/vessels?q=, #/vessel/MMSI-or-IMO, #/areas, #/area/ID,
 * #/status. Every text from the project is put in the page with textContent (never as HTML), and the
 * page loads nothing but this app's own files (the server's Content-Security-Policy forbids the rest).
 */
"use strict";

(function () {
  const SEVERITIES = ["info", "low", "medium", "high"];
  const EVENT_COLOURS = {
    port_visit: "#1d4e89", voyage: "#2a9d8f", ais_gap: "#b42318", loitering: "#8338ec", encounter: "#e76f51",
    identity_change: "#c4590a", spoofing: "#6d597a", sighting: "#0b7285",
  };
  const TRACK_COLOURS = ["#14213d", "#c4590a", "#2a9d8f", "#8338ec"];
  const panel = document.getElementById("panel");
  const sliderBox = document.getElementById("slider-box");
  const slider = document.getElementById("time-slider");
  const sliderLabel = document.getElementById("time-label");
  let renderToken = 0;

  // --- helpers ------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  async function api(path, params) {
    const url = new URL(path, window.location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
    }
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) throw new ApiError((body && body.error) || response.statusText, response.status);
    return body;
  }

  /* el("a", {href: "#/x", class: "y", onclick: fn}, "text", childNode, ...) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (v === true) node.setAttribute(k, "");
      else node.setAttribute(k, String(v));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function fmtTime(iso) {
    if (!iso) return "";
    return iso.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, "Z");
  }

  function fmtNum(x, digits) {
    if (x === null || x === undefined) return "";
    return Number(x).toLocaleString("en-GB", { maximumFractionDigits: digits === undefined ? 2 : digits });
  }

  function link(href, text) { return el("a", { href }, text); }
  function vesselLink(v) { return link("#/vessel/" + encodeURIComponent(v.mmsi), v.label || ("MMSI " + v.mmsi)); }
  function areaLink(id) { return link("#/area/" + encodeURIComponent(id), id); }
  function sevBadge(s) { return el("span", { class: "sev sev-" + s }, s); }
  function join(nodes, sep) {
    const out = [];
    nodes.forEach((n, i) => { if (i) out.push(sep); out.push(n); });
    return out;
  }

  /* table([{label, value: row => node|string, num: bool}], rows, {id}) */
  function table(columns, rows, opts) {
    const head = el("tr", {}, columns.map(c => el("th", { class: c.num ? "num" : null }, c.label)));
    const body = rows.map(r => el("tr", {}, columns.map(c => {
      const v = c.value(r);
      return el("td", { class: c.num ? "num" : null }, v === undefined || v === null ? "" : v);
    })));
    return el("div", { class: "table-wrap" },
      el("table", { id: opts && opts.id }, el("thead", {}, head), el("tbody", {}, body)));
  }

  function setPanel(state, ...children) {
    panel.replaceChildren(...children.flat().filter(c => c));
    panel.dataset.state = state;
  }

  function showError(err) {
    setPanel("error", el("p", { class: "error" }, err.message || String(err)));
  }

  function hashQuery(path, params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
    const s = q.toString();
    return "#" + path + (s ? "?" + s : "");
  }

  // --- map ----------------------------------------------------------------------------------------

  const map = L.map("map", { zoomSnap: 0.5, worldCopyJump: false }).setView([40, 132], 4);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Land: Natural Earth");
  const overlay = L.featureGroup().addTo(map);
  let trackLayers = [];
  let timedMarkers = [];

  api("/api/basemap").then(data => {
    const land = L.geoJSON(data, {
      interactive: false,
      style: { className: "sw-land", color: "#9c9682", weight: 0.6, fillColor: "#efece3", fillOpacity: 1 },
    }).addTo(map);
    land.bringToBack();
    document.body.dataset.basemap = "ready";
  }).catch(err => { document.body.dataset.basemap = "error: " + err.message; });

  function clearMap() {
    overlay.clearLayers();
    trackLayers = [];
    timedMarkers = [];
    sliderBox.hidden = true;
  }

  function fitOverlay() {
    const b = overlay.getBounds();
    if (b.isValid()) map.fitBounds(b, { padding: [30, 30], maxZoom: 11 });
  }

  function popupFor(lines) {
    return el("div", {}, lines.map(l => el("div", {}, l)));
  }

  /* An area at its true size, or (overview: true) as a marker that stays visible at any zoom. */
  function drawArea(area, opts) {
    const style = { className: "sw-area", color: "#8338ec", weight: 1.5, fillOpacity: 0.12 };
    let layer;
    if (opts && opts.overview) {
      layer = L.circleMarker([area.lat_deg, area.lon_deg], Object.assign({}, style, { radius: 7, fillOpacity: 0.35 }));
    } else if (area.geometry.type === "Point") {
      const ll = [area.geometry.coordinates[1], area.geometry.coordinates[0]];
      layer = area.radius_m ? L.circle(ll, Object.assign({ radius: area.radius_m }, style))
        : L.circleMarker(ll, Object.assign({ radius: 6 }, style));
    } else {
      layer = L.geoJSON(area.geometry, { style });
    }
    layer.bindTooltip(el("span", {}, area.name), { className: "sw-label" });
    layer.on("click", () => { window.location.hash = "#/area/" + encodeURIComponent(area.area_id); });
    overlay.addLayer(layer);
    return layer;
  }

  function eventLines(ev) {
    const lines = [el("b", {}, ev.event_type.replace(/_/g, " ")), fmtTime(ev.start_utc) + (ev.end_utc && ev.end_utc !== ev.start_utc ? " – " + fmtTime(ev.end_utc) : "")];
    if (ev.area_id) lines.push(append(el("span", {}), ["area ", areaLink(ev.area_id)]));
    if (ev.basis) lines.push("basis: " + ev.basis + (ev.confidence !== null ? ", confidence " + fmtNum(ev.confidence) : ""));
    return lines;
  }

  /* Events as markers; AIS gaps as dashed lines from where the vessel went silent to where it reappeared;
   * voyages as lines between their two areas (dashed when inferred from a gap, not observed). */
  function drawEvents(events, areaIndex) {
    for (const ev of events) {
      const colour = EVENT_COLOURS[ev.event_type] || "#333";
      const t = Date.parse(ev.start_utc);
      const a = ev.attrs || {};
      const from = areaIndex && areaIndex.get(ev.area_id), to = areaIndex && areaIndex.get(ev.area2_id);
      if (ev.event_type === "voyage" && from && to && from !== to) {
        const line = L.polyline([[from.lat_deg, from.lon_deg], [to.lat_deg, to.lon_deg]], {
          className: "sw-voyage", color: colour, weight: 2, opacity: 0.7,
          dashArray: ev.basis === "ais" ? null : "2 6",
        }).bindPopup(popupFor(eventLines(ev).concat([append(el("span", {}), ["to ", areaLink(ev.area2_id)])])));
        overlay.addLayer(line);
        timedMarkers.push({ layer: line, t });
        continue;
      }
      if (ev.event_type === "ais_gap" && a.on_lat_deg !== null && a.on_lat_deg !== undefined) {
        const line = L.polyline([[a.off_lat_deg, a.off_lon_deg], [a.on_lat_deg, a.on_lon_deg]], {
          className: "sw-gap", color: colour, weight: 2, dashArray: "6 6", opacity: 0.9,
        }).bindPopup(popupFor(eventLines(ev).concat(["silent " + fmtNum(a.duration_h, 1) + " h"])));
        overlay.addLayer(line);
        timedMarkers.push({ layer: line, t });
        continue;
      }
      if (ev.lat_deg === null || ev.lon_deg === null) continue;
      const m = L.circleMarker([ev.lat_deg, ev.lon_deg], {
        className: "sw-event sw-event-" + ev.event_type, radius: 6, color: "#fff", weight: 1.5,
        fillColor: colour, fillOpacity: 0.95,
      }).bindPopup(popupFor(eventLines(ev)));
      overlay.addLayer(m);
      timedMarkers.push({ layer: m, t });
    }
  }

  /* Track parts from /api/vessels/{id}/track; the slider shows the track up to the chosen time. */
  function drawTrack(track) {
    let tmin = Infinity, tmax = -Infinity;
    const mmsis = [...new Set(track.features.map(f => f.properties.mmsi))];
    for (const f of track.features) {
      const times = f.properties.times_ms;
      const coords = f.geometry.type === "Point" ? [f.geometry.coordinates] : f.geometry.coordinates;
      const latlngs = coords.map(c => [c[1], c[0]]);
      const colour = TRACK_COLOURS[mmsis.indexOf(f.properties.mmsi) % TRACK_COLOURS.length];
      const layer = latlngs.length > 1
        ? L.polyline(latlngs, { className: "sw-track", color: colour, weight: 2, opacity: 0.85 })
        : L.circleMarker(latlngs[0], { className: "sw-track", radius: 2, color: colour });
      overlay.addLayer(layer);
      trackLayers.push({ layer, latlngs, times });
      tmin = Math.min(tmin, times[0]);
      tmax = Math.max(tmax, times[times.length - 1]);
    }
    if (trackLayers.length && tmax > tmin) {
      slider.dataset.tmin = String(tmin);
      slider.dataset.tmax = String(tmax);
      slider.value = slider.max;
      sliderBox.hidden = false;
      applySlider();
    }
  }

  function upperBound(times, t) {
    let lo = 0, hi = times.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (times[mid] <= t) lo = mid + 1; else hi = mid; }
    return lo;
  }

  function applySlider() {
    const tmin = Number(slider.dataset.tmin), tmax = Number(slider.dataset.tmax);
    const t = tmin + (tmax - tmin) * Number(slider.value) / Number(slider.max);
    let shown = 0;
    for (const tr of trackLayers) {
      const k = upperBound(tr.times, t);
      shown += k;
      if (tr.layer.setLatLngs) tr.layer.setLatLngs(tr.latlngs.slice(0, Math.max(k, 0)));
      else if (k === 0) overlay.removeLayer(tr.layer); else overlay.addLayer(tr.layer);
    }
    for (const m of timedMarkers) {
      if (m.t <= t) overlay.addLayer(m.layer); else overlay.removeLayer(m.layer);
    }
    sliderLabel.value = fmtTime(new Date(t).toISOString());
    slider.dataset.shownVertices = String(shown);
  }
  slider.addEventListener("input", applySlider);

  // --- views --------------------------------------------------------------------------------------

  let areasCache = null;
  function areas() {
    if (!areasCache) areasCache = api("/api/areas").catch(err => { areasCache = null; throw err; });
    return areasCache;
  }

  function findingsTable(items) {
    return table([
      { label: "severity", value: f => sevBadge(f.severity) },
      { label: "finding", value: f => el("div", {}, link("#/finding/" + encodeURIComponent(f.finding_id), f.title || f.rule),
          el("div", { class: "muted clamp", title: f.statement }, f.statement)) },
      { label: "vessels", value: f => join(f.vessels.map(vesselLink), ", ") },
      { label: "areas", value: f => join(f.area_ids.map(areaLink), ", ") },
      { label: "when (UTC)", value: f => el("div", { class: "nowrap" }, el("div", {}, fmtTime(f.start_utc).slice(0, 10)),
          f.end_utc && f.end_utc.slice(0, 10) !== (f.start_utc || "").slice(0, 10) ? el("div", {}, "– " + fmtTime(f.end_utc).slice(0, 10)) : null) },
      { label: "confidence", num: true, value: f => fmtNum(f.confidence) },
    ], items, { id: "findings-table" });
  }

  function eventsTable(events) {
    return table([
      { label: "type", value: e => e.event_type.replace(/_/g, " ") },
      { label: "start (UTC)", value: e => fmtTime(e.start_utc) },
      { label: "end (UTC)", value: e => fmtTime(e.end_utc) },
      { label: "vessel", value: e => link("#/vessel/" + e.mmsi, String(e.mmsi)) },
      { label: "area", value: e => join([e.area_id, e.area2_id].filter(Boolean).map(areaLink), " → ") },
      { label: "basis", value: e => e.basis },
      { label: "confidence", num: true, value: e => fmtNum(e.confidence) },
      { label: "records", num: true, value: e => e.n_evidence },
    ], events, { id: "events-table" });
  }

  async function viewFindings(params, stale) {
    const filters = {
      rule: params.get("rule") || "", min_severity: params.get("min_severity") || "",
      vessel: params.get("vessel") || "", area: params.get("area") || "", since: params.get("since") || "",
      until: params.get("until") || "", q: params.get("q") || "",
    };
    const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
    const limit = 50;
    const [data, areaList] = await Promise.all([api("/api/findings", Object.assign({ limit, offset }, filters)), areas()]);
    if (stale()) return;
    const go = (changes) => {
      window.location.hash = hashQuery("/findings", Object.assign({}, filters, changes));
    };
    const ruleSelect = el("select", { name: "rule", id: "filter-rule" }, el("option", { value: "" }, "any rule"),
      Object.entries(data.facets.rules).map(([r, n]) => el("option", { value: r, selected: r === filters.rule }, `${r} (${n})`)));
    const sevSelect = el("select", { name: "min_severity", id: "filter-severity" }, el("option", { value: "" }, "any"),
      SEVERITIES.map(s => el("option", { value: s, selected: s === filters.min_severity }, "≥ " + s)));
    const areaSelect = el("select", { name: "area", id: "filter-area" }, el("option", { value: "" }, "any area"),
      areaList.items.map(a => el("option", { value: a.area_id, selected: a.area_id === filters.area }, a.name)));
    const input = (name, type, placeholder) => el("input", { name, type, id: "filter-" + name, value: filters[name], placeholder });
    const form = el("form", { class: "filters", id: "findings-filters" },
      el("label", {}, "Rule", ruleSelect), el("label", {}, "Severity", sevSelect), el("label", {}, "Area", areaSelect),
      el("label", {}, "Vessel (MMSI/IMO)", input("vessel", "text", "9179842")),
      el("label", {}, "Since", input("since", "date")), el("label", {}, "Until", input("until", "date")),
      el("label", {}, "Text", input("q", "search", "words")),
      el("div", { class: "actions" }, el("button", { type: "submit" }, "Apply"),
        el("button", { type: "button", onclick: () => { window.location.hash = "#/findings"; } }, "Clear")));
    const read = () => Object.fromEntries([...new FormData(form).entries()].map(([k, v]) => [k, String(v).trim()]));
    form.addEventListener("submit", ev => { ev.preventDefault(); go(Object.assign(read(), { offset: 0 })); });
    for (const s of [ruleSelect, sevSelect, areaSelect]) s.addEventListener("change", () => go(Object.assign(read(), { offset: 0 })));
    const pager = el("div", { class: "pager" },
      el("button", { type: "button", id: "prev-page", disabled: offset === 0, onclick: () => go({ offset: Math.max(0, offset - limit) }) }, "‹ Previous"),
      el("span", {}, data.total ? `${offset + 1}–${Math.min(offset + limit, data.total)} of ${data.total}` : ""),
      el("button", { type: "button", id: "next-page", disabled: offset + limit >= data.total, onclick: () => go({ offset: offset + limit }) }, "Next ›"));
    setPanel("ready", el("h1", {}, "Findings"), form,
      el("p", { class: "count", id: "findings-count", dataset: { total: String(data.total) } },
        `${data.total} finding${data.total === 1 ? "" : "s"}`),
      data.items.length ? findingsTable(data.items) : el("p", { class: "muted" }, "No finding matches these filters."),
      pager);
    clearMap();
    const wanted = new Set(data.items.flatMap(f => f.area_ids));
    for (const a of areaList.items) if (a.source === "watched" || wanted.has(a.area_id)) drawArea(a, { overview: true });
    fitOverlay();
  }

  async function viewFinding(id, stale) {
    const [data, areaList] = await Promise.all([api("/api/findings/" + encodeURIComponent(id)), areas()]);
    if (stale()) return;
    const f = data.finding;
    const evidence = table([
      { label: "file", value: r => el("span", { title: r.path || "" }, (r.path || r.source_id).split("/").pop()) },
      { label: "line", num: true, value: r => r.record_no },
      { label: "status", value: r => el("span", { class: r.status === "ok" ? "status-ok" : "status-bad" }, r.status) },
      { label: "raw record", value: r => r.text === null ? "" : el("code", {}, r.text) },
    ], data.evidence, { id: "evidence-table" });
    setPanel("ready",
      el("h1", {}, sevBadge(f.severity), " ", f.title || f.rule),
      el("p", { class: "statement" }, f.statement),
      el("dl", { class: "facts" },
        el("dt", {}, "rule"), el("dd", {}, f.rule),
        el("dt", {}, "confidence"), el("dd", {}, fmtNum(f.confidence) + (f.confidence_reason ? " — " + f.confidence_reason : "")),
        el("dt", {}, "when (UTC)"), el("dd", {}, fmtTime(f.start_utc) + " – " + fmtTime(f.end_utc)),
        el("dt", {}, "vessels"), el("dd", {}, join(f.vessels.map(vesselLink), ", ")),
        el("dt", {}, "areas"), el("dd", {}, join(f.area_ids.map(areaLink), ", ")),
        el("dt", {}, "parameters"), el("dd", {}, f.params_id || "")),
      el("h2", {}, `Events (${data.events.length})`), eventsTable(data.events),
      el("h2", {}, `Evidence: raw input records (${data.evidence_total}${data.evidence_truncated ? ", first " + data.evidence.length + " shown" : ""})`),
      evidence);
    clearMap();
    drawEvents(data.events, new Map(areaList.items.map(a => [a.area_id, a])));
    for (const a of areaList.items) if (f.area_ids.includes(a.area_id)) drawArea(a);
    fitOverlay();
  }

  async function viewVessels(params, stale) {
    const q = params.get("q") || "";
    const data = await api("/api/vessels", { q, limit: 200 });
    if (stale()) return;
    setPanel("ready", el("h1", {}, q ? `Vessels matching “${q}”` : "Vessels"),
      el("p", { class: "count", id: "vessels-count", dataset: { total: String(data.total) } },
        `${data.total} vessel${data.total === 1 ? "" : "s"}${data.total > data.items.length ? ", first " + data.items.length + " shown" : ""}`),
      table([
        { label: "vessel", value: v => vesselLink(v) },
        { label: "MMSI", value: v => String(v.mmsi) },
        { label: "IMO", value: v => v.imo ? String(v.imo) : "" },
        { label: "call sign", value: v => v.call_sign },
        { label: "flag", value: v => v.flag },
        { label: "positions", num: true, value: v => fmtNum(v.n_positions, 0) },
        { label: "first – last (UTC)", value: v => fmtTime(v.first_utc) + " – " + fmtTime(v.last_utc) },
      ], data.items, { id: "vessels-table" }));
    clearMap();
  }

  async function viewVessel(ident, stale) {
    const [data, track, areaList] = await Promise.all([
      api("/api/vessels/" + encodeURIComponent(ident)),
      api("/api/vessels/" + encodeURIComponent(ident) + "/track", { max_points: 3000 }),
      areas(),
    ]);
    if (stale()) return;
    const ids = table([
      { label: "name", value: r => r.name }, { label: "MMSI", value: r => String(r.mmsi) },
      { label: "IMO", value: r => r.imo ? String(r.imo) : "" }, { label: "call sign", value: r => r.call_sign },
      { label: "flag", value: r => r.flag_iso2 }, { label: "type", value: r => r.ship_type },
      { label: "length m", num: true, value: r => fmtNum(r.length_m, 0) },
      { label: "destination", value: r => r.destination },
      { label: "first seen (UTC)", value: r => fmtTime(r.first_seen_utc) },
      { label: "last seen (UTC)", value: r => fmtTime(r.last_seen_utc) },
      { label: "reports", num: true, value: r => fmtNum(r.n_reports, 0) },
      { label: "source", value: r => el("span", { title: r.path || "" }, (r.path || r.source_id).split("/").pop() + ":" + r.record_no) },
    ], data.identities, { id: "identities-table" });
    const matches = data.matches.length ? table([
      { label: "list", value: m => m.list_name }, { label: "entry", value: m => m.entry_name + " (" + m.entry_id + ")" },
      { label: "status", value: m => m.status + (m.entry_status === "delisted" ? " (delisted)" : "") },
      { label: "score", num: true, value: m => fmtNum(m.score, 3) },
      { label: "why", value: m => m.reasons.join("; ") },
    ], data.matches, { id: "matches-table" }) : el("p", { class: "muted" }, "No screening match.");
    const v = data.vessels[0];
    setPanel("ready",
      el("h1", { id: "vessel-title" }, data.label),
      el("dl", { class: "facts" },
        el("dt", {}, "MMSI"), el("dd", {}, data.mmsis.join(", ")),
        el("dt", {}, "IMO"), el("dd", {}, v.imo ? String(v.imo) : "—"),
        el("dt", {}, "positions"), el("dd", {}, `${fmtNum(track.n_positions, 0)} (${fmtNum(track.n_vertices, 0)} drawn)`),
        el("dt", {}, "seen (UTC)"), el("dd", {}, fmtTime(v.first_utc) + " – " + fmtTime(v.last_utc))),
      el("h2", {}, "Screening matches"), matches,
      el("h2", {}, `Findings (${data.findings_total})`),
      data.findings.length ? findingsTable(data.findings) : el("p", { class: "muted" }, "No finding about this vessel."),
      el("h2", {}, "Identity history (what it broadcast)"), ids,
      el("h2", {}, `Events (${data.events_total}${data.events_total > data.events.length ? ", first " + data.events.length + " shown" : ""})`),
      eventsTable(data.events));
    clearMap();
    drawTrack(track);
    drawEvents(data.events, new Map(areaList.items.map(a => [a.area_id, a])));
    fitOverlay();
    applySlider();
  }

  async function viewAreas(stale) {
    const data = await areas();
    if (stale()) return;
    setPanel("ready", el("h1", {}, "Areas"),
      el("p", { class: "muted" }, "Watched areas (packaged and the project's own), then the World Port Index ports events refer to."),
      table([
        { label: "area", value: a => link("#/area/" + encodeURIComponent(a.area_id), a.name) },
        { label: "id", value: a => a.area_id }, { label: "kind", value: a => a.kind },
        { label: "groups", value: a => a.groups.join(", ") },
        { label: "events", num: true, value: a => fmtNum(a.n_events, 0) },
        { label: "findings", num: true, value: a => fmtNum(a.n_findings, 0) },
      ], data.items, { id: "areas-table" }));
    clearMap();
    for (const a of data.items) drawArea(a, { overview: true });
    fitOverlay();
  }

  function activityChart(activity) {
    const NS = "http://www.w3.org/2000/svg";
    const svg = (tag, attrs, ...kids) => {
      const n = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
      for (const k of kids) n.appendChild(typeof k === "string" ? document.createTextNode(k) : k);
      return n;
    };
    const W = 640, H = 220, L0 = 40, R0 = 10, T0 = 10, B0 = 24;
    const keys = [...new Set(activity.series.map(s => s.category + " / " + s.basis))];
    const pts = activity.series.filter(s => s.count !== null).map(s => ({ key: s.category + " / " + s.basis, t: Date.parse(s.period_start_utc), y: s.count }));
    if (!pts.length) return el("p", { class: "muted" }, "No counts.");
    const t0 = Math.min(...pts.map(p => p.t)), t1 = Math.max(...pts.map(p => p.t));
    const ymax = Math.max(1, ...pts.map(p => p.y));
    const x = t => L0 + (W - L0 - R0) * (t1 > t0 ? (t - t0) / (t1 - t0) : 0.5);
    const y = v => H - B0 - (H - T0 - B0) * v / ymax;
    const root = svg("svg", { class: "chart", id: "activity-chart", viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img" });
    root.appendChild(svg("line", { class: "axis", x1: L0, y1: H - B0, x2: W - R0, y2: H - B0 }));
    root.appendChild(svg("line", { class: "axis", x1: L0, y1: T0, x2: L0, y2: H - B0 }));
    root.appendChild(svg("text", { x: 2, y: T0 + 10 }, fmtNum(ymax, 0)));
    root.appendChild(svg("text", { x: 2, y: H - B0 }, "0"));
    root.appendChild(svg("text", { x: L0, y: H - 6 }, fmtTime(new Date(t0).toISOString()).slice(0, 10)));
    root.appendChild(svg("text", { x: W - R0 - 70, y: H - 6 }, fmtTime(new Date(t1).toISOString()).slice(0, 10)));
    keys.forEach((k, i) => {
      const p = pts.filter(q => q.key === k).sort((a, b) => a.t - b.t);
      root.appendChild(svg("polyline", { fill: "none", stroke: TRACK_COLOURS[i % TRACK_COLOURS.length], "stroke-width": 1.8,
        points: p.map(q => `${x(q.t).toFixed(1)},${y(q.y).toFixed(1)}`).join(" ") }));
    });
    for (const a of activity.anomalies) {
      if (a.count === null) continue;
      const c = svg("circle", { class: "anomaly", cx: x(Date.parse(a.period_start_utc)).toFixed(1), cy: y(a.count).toFixed(1), r: 5,
        fill: "none", stroke: "#b42318", "stroke-width": 2 });
      c.appendChild(svg("title", {}, a.statement || a.kind));
      root.appendChild(c);
    }
    const legend = el("div", { class: "legend" }, keys.map((k, i) => el("span", {}, el("span", { class: "swatch swatch-" + (i % 4) }), k)),
      activity.anomalies.length ? el("span", {}, el("span", { class: "swatch swatch-anomaly" }), "anomaly (hover for the statement)") : null);
    return el("div", {}, legend, root);
  }

  async function viewArea(id, stale) {
    const data = await api("/api/areas/" + encodeURIComponent(id));
    if (stale()) return;
    const a = data.area;
    setPanel("ready",
      el("h1", { id: "area-title" }, a.name),
      el("dl", { class: "facts" },
        el("dt", {}, "id"), el("dd", {}, a.area_id), el("dt", {}, "kind"), el("dd", {}, a.kind || ""),
        el("dt", {}, "groups"), el("dd", {}, a.groups.join(", ")), el("dt", {}, "source"), el("dd", {}, a.source),
        el("dt", {}, "shape"), el("dd", {}, a.radius_m ? `circle of ${fmtNum(a.radius_m, 0)} m` : a.geometry.type)),
      data.activity ? [el("h2", {}, "Site activity (per week)"), activityChart(data.activity),
        data.activity.anomalies.length ? el("ul", { id: "anomalies" }, data.activity.anomalies.map(x => el("li", {}, x.statement || x.kind))) : null] : null,
      el("h2", {}, `Findings (${data.findings_total})`),
      data.findings.length ? findingsTable(data.findings) : el("p", { class: "muted" }, "No finding names this area."),
      el("h2", {}, `Events (${data.events_total}${data.events_total > data.events.length ? ", first " + data.events.length + " shown" : ""})`),
      eventsTable(data.events));
    clearMap();
    drawArea(a);
    drawEvents(data.events);
    fitOverlay();
  }

  async function viewStatus(stale) {
    const s = await api("/api/status");
    if (stale()) return;
    setPanel("ready", el("h1", {}, "Project"),
      el("dl", { class: "facts" },
        el("dt", {}, "folder"), el("dd", {}, s.project), el("dt", {}, "sanctionwatch"), el("dd", {}, s.version),
        el("dt", {}, "parameters"), el("dd", {}, s.params_id + (Object.keys(s.settings_overridden).length ? " (overridden: " +
          Object.entries(s.settings_overridden).map(([k, v]) => k + "=" + v).join(", ") + ")" : " (defaults)")),
        el("dt", {}, "AIS span (UTC)"), el("dd", {}, fmtTime(s.time_span.first_utc) + " – " + fmtTime(s.time_span.last_utc))),
      el("h2", {}, "Counts"),
      table([{ label: "table", value: r => r[0] }, { label: "rows", num: true, value: r => fmtNum(r[1], 0) }],
        Object.entries(s.counts), { id: "counts-table" }),
      el("h2", {}, "AIS sources"),
      table([{ label: "file", value: r => r.path }, { label: "format", value: r => r.format },
        { label: "records", num: true, value: r => fmtNum(r.records_read, 0) },
        { label: "positions", num: true, value: r => fmtNum(r.positions_kept, 0) },
        { label: "quarantined", num: true, value: r => fmtNum(r.quarantined, 0) }], s.sources),
      s.lists.length ? [el("h2", {}, "Sanctions lists"), table([{ label: "list", value: r => r.list_name },
        { label: "as of", value: r => fmtTime(r.as_of_utc) }, { label: "entries", num: true, value: r => fmtNum(r.n_entries, 0) },
        { label: "file", value: r => r.path }], s.lists)] : null,
      s.imagery_sources.length ? [el("h2", {}, "Imagery inputs"), table([{ label: "kind", value: r => r.kind },
        { label: "layout", value: r => r.layout }, { label: "file", value: r => r.path }], s.imagery_sources)] : null);
    clearMap();
  }

  // --- routing ------------------------------------------------------------------------------------

  async function route() {
    const token = ++renderToken;
    const stale = () => token !== renderToken;
    const raw = window.location.hash.replace(/^#/, "") || "/findings";
    const [path, query] = raw.split("?");
    const parts = path.split("/").filter(Boolean).map(p => { try { return decodeURIComponent(p); } catch (e) { return p; } });
    const params = new URLSearchParams(query || "");
    const view = parts[0] || "findings";
    document.body.dataset.view = view;
    for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.dataset.nav === view || a.dataset.nav === view + "s");
    panel.dataset.state = "loading";
    try {
      if (view === "findings") await viewFindings(params, stale);
      else if (view === "finding" && parts[1]) await viewFinding(parts[1], stale);
      else if (view === "vessels") await viewVessels(params, stale);
      else if (view === "vessel" && parts[1]) await viewVessel(parts[1], stale);
      else if (view === "areas") await viewAreas(stale);
      else if (view === "area" && parts[1]) await viewArea(parts[1], stale);
      else if (view === "status") await viewStatus(stale);
      else setPanel("error", el("p", { class: "error" }, "Unknown page."), link("#/findings", "Back to the findings"));
    } catch (err) {
      if (!stale()) showError(err);
    }
  }

  document.getElementById("search").addEventListener("submit", ev => {
    ev.preventDefault();
    const q = document.getElementById("search-q").value.trim();
    window.location.hash = hashQuery("/vessels", { q });
  });
  window.addEventListener("hashchange", route);
  route();
})();
