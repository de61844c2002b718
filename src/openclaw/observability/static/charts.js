/*
 * OpenClaw dashboard charts: small SVG charts in plain JavaScript, no dependencies.
 *
 * Why not a charting library: the dashboard draws four time series and a few bar lists.
 * A library (uPlot is the smallest good one) would be ~50 KB of vendored code plus a
 * stylesheet, and some libraries write inline styles that a strict CSP blocks. SVG built
 * with createElementNS and presentation attributes needs neither 'unsafe-inline' nor
 * anything from outside the machine, scales with the page, gives every point a <title>
 * tooltip, and leaves real elements in the DOM (rect.bar, circle.pt) that tests can count.
 */
(function () {
  "use strict";

  var NS = "http://www.w3.org/2000/svg";
  var W = 640;
  var H = 220;
  var PAD = { l: 52, r: 12, t: 12, b: 26 };

  function el(name, attrs, parent) {
    var n = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) {
      n.setAttribute(k, String(attrs[k]));
    });
    if (parent) parent.appendChild(n);
    return n;
  }

  function text(parent, x, y, s, cls, anchor) {
    var t = el("text", { x: x, y: y, class: cls || "axis-label", "text-anchor": anchor || "start" }, parent);
    t.textContent = s;
    return t;
  }

  function title(parent, s) {
    var t = el("title", {}, parent);
    t.textContent = s;
  }

  function clear(host) {
    while (host.firstChild) host.removeChild(host.firstChild);
  }

  function svg(host, w, h, label) {
    clear(host);
    var s = el("svg", { viewBox: "0 0 " + w + " " + h, role: "img", "aria-label": label || "" }, host);
    return s;
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 4, 8, 10]; // quarters of these read well: 0.25, 0.5, 1, 2, 2.5
    for (var i = 0; i < steps.length; i++) {
      if (v <= steps[i] * p) return steps[i] * p;
    }
    return 10 * p;
  }

  function hhmm(t) {
    var d = new Date(t * 1000);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function frame(s, xs, maxY, fmt) {
    var iw = W - PAD.l - PAD.r;
    var ih = H - PAD.t - PAD.b;
    var g = el("g", { class: "grid" }, s);
    for (var i = 0; i <= 4; i++) {
      var v = (maxY * i) / 4;
      var y = PAD.t + ih - (ih * i) / 4;
      el("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: i === 0 ? "axis" : "gridline" }, g);
      text(g, PAD.l - 6, y + 4, fmt(v), "axis-label", "end");
    }
    var n = xs.length;
    var every = n > 12 ? 5 : 1; // label round minutes (every five on a long window)
    for (var j = 0; j < n; j++) {
      if (Math.round(xs[j] / 60) % every === 0) text(g, xAt(j, n), H - 8, hhmm(xs[j]), "axis-label", "middle");
    }
    return { iw: iw, ih: ih };
  }

  function xAt(i, n) {
    var iw = W - PAD.l - PAD.r;
    return PAD.l + (n <= 1 ? iw / 2 : (iw * (i + 0.5)) / n);
  }

  function yAt(v, maxY) {
    var ih = H - PAD.t - PAD.b;
    return PAD.t + ih - (ih * v) / maxY;
  }

  /* Vertical bars over time: opts = {xs, values, fmt, label, unit} */
  function bars(host, opts) {
    var s = svg(host, W, H, opts.label);
    var maxY = niceMax(Math.max.apply(null, opts.values.concat([0])));
    var fmt = opts.fmt || String;
    frame(s, opts.xs, maxY, fmt);
    var n = opts.xs.length;
    var bw = Math.max(2, ((W - PAD.l - PAD.r) / n) * 0.7);
    var g = el("g", { class: "series " + (opts.cls || "s0") }, s);
    opts.values.forEach(function (v, i) {
      if (!v) return;
      var y = yAt(v, maxY);
      var r = el("rect", { class: "bar", x: xAt(i, n) - bw / 2, y: y, width: bw, height: yAt(0, maxY) - y, "data-value": v }, g);
      title(r, hhmm(opts.xs[i]) + "  " + fmt(v) + (opts.unit ? " " + opts.unit : ""));
    });
  }

  /* Lines over time with gaps for missing minutes: opts = {xs, series:[{name, values, cls}], fmt} */
  function lines(host, opts) {
    var s = svg(host, W, H, opts.label);
    var all = [0];
    opts.series.forEach(function (se) {
      se.values.forEach(function (v) {
        if (v !== null && v !== undefined) all.push(v);
      });
    });
    var maxY = opts.maxY || niceMax(Math.max.apply(null, all));
    var fmt = opts.fmt || String;
    frame(s, opts.xs, maxY, fmt);
    var n = opts.xs.length;
    opts.series.forEach(function (se, k) {
      var g = el("g", { class: "series " + (se.cls || "s" + k), "data-series": se.name }, s);
      var d = "";
      var pen = false;
      var pts = 0;
      se.values.forEach(function (v, i) {
        if (v === null || v === undefined) {
          pen = false;
          return;
        }
        d += (pen ? "L" : "M") + xAt(i, n).toFixed(1) + " " + yAt(v, maxY).toFixed(1) + " ";
        pen = true;
      });
      if (d) el("path", { d: d, class: "line" }, g);
      se.values.forEach(function (v, i) {
        if (v === null || v === undefined) return;
        pts++;
        var c = el("circle", { class: "pt", cx: xAt(i, n), cy: yAt(v, maxY), r: 3.5, "data-value": v }, g);
        title(c, se.name + " " + hhmm(opts.xs[i]) + "  " + fmt(v));
      });
      g.setAttribute("data-points", String(pts));
    });
    legend(host, opts.series);
  }

  function legend(host, series) {
    var ul = document.createElement("ul");
    ul.className = "legend";
    series.forEach(function (se, k) {
      var li = document.createElement("li");
      li.className = se.cls || "s" + k;
      li.textContent = se.name;
      ul.appendChild(li);
    });
    host.appendChild(ul);
  }

  /* Horizontal stacked bars: opts = {rows:[{label, segments:[{name, value, cls}]}], fmt, empty} */
  function hbars(host, opts) {
    var rows = opts.rows.slice(0, opts.max || 8);
    if (!rows.length) {
      clear(host);
      var p = document.createElement("p");
      p.className = "empty";
      p.textContent = opts.empty || "nothing yet";
      host.appendChild(p);
      return;
    }
    var rowH = 26;
    var h = rows.length * rowH + 8;
    var s = svg(host, W, h, opts.label);
    var lw = 172;
    var vw = 96;
    var bw = W - lw - vw - 8;
    var totals = rows.map(function (r) {
      return r.segments.reduce(function (a, sg) { return a + (sg.value || 0); }, 0);
    });
    var maxV = Math.max.apply(null, totals.concat([0])) || 1;
    var fmt = opts.fmt || String;
    rows.forEach(function (r, i) {
      var y = 4 + i * rowH;
      var g = el("g", { class: "hbar", "data-label": r.label, "data-value": totals[i] }, s);
      var name = r.label.length > 23 ? r.label.slice(0, 22) + "…" : r.label;
      text(g, lw - 8, y + 17, name, "bar-label", "end");
      el("rect", { class: "track", x: lw, y: y + 4, width: bw, height: rowH - 10, rx: 3 }, g);
      var x = lw;
      r.segments.forEach(function (sg) {
        if (!sg.value) return;
        var w = Math.max(1.5, (bw * sg.value) / maxV);
        var rect = el("rect", { class: "seg " + (sg.cls || ""), x: x, y: y + 4, width: w, height: rowH - 10, rx: 3 }, g);
        title(rect, r.label + " · " + sg.name + ": " + fmt(sg.value));
        x += w;
      });
      text(g, W - 4, y + 17, fmt(totals[i]), "bar-value", "end");
    });
    if (opts.legend) legend(host, opts.legend);
  }

  window.OCCharts = { bars: bars, lines: lines, hbars: hbars, hhmm: hhmm };
})();
