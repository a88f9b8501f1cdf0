/* sanctionwatch report maps: draws each finding's map from its JSON block with the inlined Leaflet.
   Maps are built when they scroll into view (a report can hold a thousand), and all before printing.
   Text from the data is always set as textContent, never parsed as HTML. */
(function () {
  "use strict";
  if (typeof L === "undefined") { return; }
  var bmEl = document.getElementById("sw-basemap");
  var basemap = bmEl ? JSON.parse(bmEl.textContent) : null;
  var SCALE = 10000;

  function decode(flat) {
    var out = [], lat = 0, lon = 0;
    for (var i = 0; i + 1 < flat.length; i += 2) {
      lat += flat[i]; lon += flat[i + 1];
      out.push([lat / SCALE, lon / SCALE]);
    }
    return out;
  }

  function tip(layer, text) {
    var el = document.createElement("span");
    el.textContent = text;
    layer.bindTooltip(el, {sticky: true});
    return layer;
  }

  function icon(kind) {
    return L.divIcon({className: "sw-icon sw-" + kind, html: "", iconSize: [14, 14], iconAnchor: [7, 7]});
  }

  var CIRCLE = {
    port: {radius: 6, color: "#1b4f72", fillColor: "#5dade2"},
    encounter: {radius: 7, color: "#7d3c98", fillColor: "#c39bd3"},
    loitering: {radius: 6, color: "#7d6608", fillColor: "#f4d03f"},
    spoofing: {radius: 6, color: "#922b21", fillColor: "#f1948a"},
    gap_open: {radius: 5, color: "#c0392b", fillColor: "#ffffff"},
    inferred_call: {radius: 6, color: "#c0392b", fillColor: "#ffffff"},
    event: {radius: 5, color: "#555555", fillColor: "#aaaaaa"}
  };

  function render(el) {
    if (el.getAttribute("data-rendered")) { return; }
    el.setAttribute("data-rendered", "1");
    var dataEl = document.getElementById(el.getAttribute("data-map"));
    if (!dataEl) { return; }
    var data = JSON.parse(dataEl.textContent);
    var map = L.map(el, {scrollWheelZoom: false, zoomSnap: 0.25, attributionControl: true});
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution("Land: Natural Earth (public domain)");
    // the view first: Leaflet projects vector layers as they are added
    if (data.bounds) { map.fitBounds(data.bounds, {padding: [12, 12], maxZoom: 12}); } else { map.setView([20, 0], 2); }
    if (basemap && basemap.features && basemap.features.length) {
      L.geoJSON(basemap, {interactive: false, className: "sw-land",
        style: {color: "#a39e93", weight: 0.8, fillColor: "#efe9dc", fillOpacity: 1}}).addTo(map);
    }
    (data.areas || []).forEach(function (a) {
      var layer = a.geojson
        ? L.geoJSON(a.geojson, {className: "sw-area", style: {color: "#b03a2e", weight: 1.5, fillOpacity: 0.08, dashArray: null}})
        : L.circle(a.ll, {radius: a.r || 1000, className: "sw-area", color: "#b03a2e", weight: 1.5, fillOpacity: 0.08});
      tip(layer, a.name + " (" + a.id + ")").addTo(map);
    });
    (data.tracks || []).forEach(function (t) {
      var lines = [];
      t.parts.forEach(function (p) {
        var ll = decode(p);
        if (ll.length >= 2) { lines.push(ll); }
        else if (ll.length === 1) {
          tip(L.circleMarker(ll[0], {radius: 2, className: "sw-track-dot", color: t.colour, weight: 1, fillOpacity: 1}),
            t.label).addTo(map);
        }
      });
      if (lines.length) {
        tip(L.polyline(lines, {className: "sw-track", color: t.colour, weight: 2, opacity: 0.85}),
          t.label + ": " + t.drawn + " of " + t.stored + " positions drawn").addTo(map);
      }
    });
    (data.lines || []).forEach(function (ln) {
      var opts = ln.k === "gap"
        ? {className: "sw-gap", color: "#c0392b", weight: ln.hl ? 3 : 2, dashArray: "8 6", opacity: ln.hl ? 1 : 0.6}
        : {className: "sw-inferred", color: "#c0392b", weight: 2, dashArray: "2 6", opacity: ln.hl ? 1 : 0.6};
      tip(L.polyline(ln.ll, opts), ln.tip).addTo(map);
    });
    (data.marks || []).forEach(function (mk) {
      var layer;
      if (mk.k === "sighting" || mk.k === "detection" || mk.k === "dark") {
        layer = L.marker(mk.ll, {icon: icon(mk.k), keyboard: false});
      } else {
        var st = CIRCLE[mk.k] || CIRCLE.event;
        layer = L.circleMarker(mk.ll, {radius: st.radius + (mk.hl ? 2 : 0), color: st.color, fillColor: st.fillColor,
          fillOpacity: mk.hl ? 0.9 : 0.5, weight: mk.hl ? 2.5 : 1, className: "sw-mark sw-" + mk.k});
      }
      tip(layer, mk.tip).addTo(map);
    });
    L.control.scale({imperial: false}).addTo(map);
    el.swMap = map;
  }

  function all() { return Array.prototype.slice.call(document.querySelectorAll("div.map[data-map]")); }
  function renderAll() { all().forEach(render); all().forEach(function (el) { if (el.swMap) { el.swMap.invalidateSize(); } }); }

  if ("IntersectionObserver" in window) {
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) { if (e.isIntersecting) { render(e.target); io.unobserve(e.target); } });
    }, {rootMargin: "300px"});
    all().forEach(function (el) { io.observe(el); });
  } else {
    renderAll();
  }
  window.addEventListener("beforeprint", renderAll);
  window.swReport = {render: render, renderAll: renderAll};
})();
