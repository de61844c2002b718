/*
 * The OpenClaw dashboard page: fetches /dashboard/api/summary (same origin, session cookie)
 * and listens to /dashboard/api/events (Server-Sent Events) so a finished request shows up
 * at once; each event also schedules a summary refresh for the charts. No content of any
 * request ever reaches this page: only metadata.
 */
(function () {
  "use strict";

  var C = window.OCCharts;
  var MAX_ROWS = 20; // the audit log has the rest
  var seen = new Set();
  var refreshTimer = null;
  var signedOut = false;
  var source = null;

  function $(id) {
    return document.getElementById(id);
  }

  function usd(v) {
    if (v === null || v === undefined) return "$?"; // a model with no known price
    if (!v) return "$0";
    if (v < 0.01) return "$" + v.toPrecision(2);
    return "$" + v.toFixed(2);
  }

  function num(v) {
    if (v === null || v === undefined) return "–";
    if (v >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (v >= 1e4) return (v / 1e3).toFixed(1) + "k";
    return String(Math.round(v * 10) / 10);
  }

  function pct(v) {
    return (Math.round(v * 1000) / 10).toString() + "%";
  }

  function setLive(state, label) {
    var n = $("live");
    n.className = "live " + state;
    n.textContent = label;
  }

  function renderTiles(t) {
    $("t-requests").textContent = num(t.requests);
    $("t-errors").textContent = t.requests ? pct(t.errors / t.requests) : "–";
    $("t-cost").textContent =
      usd(t.cost_usd) + (t.unpriced_requests ? " + " + num(t.unpriced_requests) + " unpriced" : "");
    $("t-tokens").textContent = num(t.tokens);
    $("t-pii").textContent = num(t.pii_reroutes);
  }

  function col(rows, key) {
    return rows.map(function (r) {
      return r[key];
    });
  }

  function renderTimeline(tl) {
    var xs = col(tl, "t");
    C.bars($("chart-rpm"), { xs: xs, values: col(tl, "requests"), label: "requests per minute", unit: "requests" });
    C.lines($("chart-errors"), {
      xs: xs,
      maxY: 1,
      fmt: pct,
      label: "error rate",
      series: [{ name: "errors", values: col(tl, "error_rate"), cls: "bad" }],
    });
    C.lines($("chart-latency"), {
      xs: xs,
      fmt: num,
      label: "latency percentiles",
      series: [
        { name: "p50", values: col(tl, "latency_p50"), cls: "s0" },
        { name: "p95", values: col(tl, "latency_p95"), cls: "s1" },
        { name: "p99", values: col(tl, "latency_p99"), cls: "s2" },
      ],
    });
    C.lines($("chart-ttft"), {
      xs: xs,
      fmt: num,
      label: "time to first token",
      series: [
        { name: "p50", values: col(tl, "ttft_p50"), cls: "s0" },
        { name: "p95", values: col(tl, "ttft_p95"), cls: "s1" },
      ],
    });
    C.bars($("chart-pii"), { xs: xs, values: col(tl, "pii_reroutes"), label: "PII reroutes", cls: "s3", unit: "reroutes" });
  }

  var TOKEN_LEGEND = [
    { name: "prompt", cls: "s0" },
    { name: "completion", cls: "s1" },
  ];

  function usageCharts(rows, costId, tokensId, what) {
    C.hbars($(costId), {
      fmt: usd,
      label: "cost by " + what,
      empty: "no spend yet (requests to models without a known price are not counted)",
      rows: rows
        .filter(function (r) {
          return r.cost_usd > 0;
        })
        .map(function (r) {
          return { label: r.name, segments: [{ name: "cost", value: r.cost_usd, cls: "s2" }] };
        }),
    });
    C.hbars($(tokensId), {
      fmt: num,
      label: "tokens by " + what,
      legend: TOKEN_LEGEND,
      rows: rows
        .filter(function (r) {
          return r.tokens > 0;
        })
        .sort(function (a, b) {
          return b.tokens - a.tokens;
        })
        .map(function (r) {
          return {
            label: r.name,
            segments: [
              { name: "prompt", value: r.prompt_tokens, cls: "s0" },
              { name: "completion", value: r.completion_tokens, cls: "s1" },
            ],
          };
        }),
    });
  }

  var OUTCOMES = ["applied", "would_apply", "pass", "error"];

  function renderPolicies(list) {
    var by = {};
    list.forEach(function (p) {
      var row = (by[p.policy] = by[p.policy] || { label: p.policy, counts: {} });
      row.counts[p.outcome] = (row.counts[p.outcome] || 0) + p.count;
    });
    C.hbars($("chart-policies"), {
      fmt: num,
      label: "policy decisions",
      empty: "no policies configured, or no requests yet",
      legend: OUTCOMES.map(function (o) {
        return { name: o.replace("_", " "), cls: "o-" + o };
      }),
      rows: Object.keys(by).map(function (k) {
        return {
          label: k,
          segments: OUTCOMES.map(function (o) {
            return { name: o, value: by[k].counts[o] || 0, cls: "o-" + o };
          }),
        };
      }),
    });
  }

  function renderUpstreams(list) {
    var ul = $("upstreams");
    ul.textContent = "";
    list.forEach(function (u) {
      var li = document.createElement("li");
      li.className = "upstream breaker-" + u.breaker;
      li.setAttribute("data-deployment", u.deployment);
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = u.deployment;
      var pill = document.createElement("span");
      pill.className = "pill";
      pill.textContent = u.breaker.replace("_", "-");
      var total = u.ok + u.errors;
      var bar = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      bar.setAttribute("viewBox", "0 0 100 8");
      bar.setAttribute("preserveAspectRatio", "none");
      bar.setAttribute("class", "ratio");
      var okW = total ? (100 * u.ok) / total : 0;
      [["ok", 0, okW], ["err", okW, total ? 100 - okW : 0], ["none", 0, total ? 0 : 100]].forEach(function (s) {
        if (!s[2]) return;
        var r = document.createElementNS("http://www.w3.org/2000/svg", "rect");
        r.setAttribute("class", s[0]);
        r.setAttribute("x", s[1]);
        r.setAttribute("y", 0);
        r.setAttribute("width", s[2]);
        r.setAttribute("height", 8);
        bar.appendChild(r);
      });
      var facts = document.createElement("span");
      facts.className = "facts";
      var bits = [u.ok + " ok", u.errors + " failed"];
      if (u.latency_p50 !== null) bits.push("p50 " + num(u.latency_p50) + " ms");
      if (u.last_error) bits.push("last error: " + u.last_error);
      facts.textContent = bits.join(" · ");
      li.append(name, pill, bar, facts);
      ul.appendChild(li);
    });
  }

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function rowFor(e, fresh) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-request-id", e.request_id);
    if (fresh) tr.className = "fresh";
    var d = new Date(e.ts * 1000);
    cell(tr, d.toLocaleTimeString()).title = e.request_id;
    cell(tr, e.service);
    cell(tr, e.api || "chat");
    cell(tr, e.model + (e.fallback_from ? " ← " + e.fallback_from : ""));
    cell(tr, e.provider || "–");
    cell(tr, String(e.status) + (e.error ? " " + e.error : ""), e.status >= 400 ? "status bad" : "status ok");
    cell(tr, num(e.latency_ms) + " ms", "n");
    cell(tr, e.ttft_ms === null ? "–" : num(e.ttft_ms) + " ms", "n");
    cell(tr, num(e.prompt_tokens + e.completion_tokens), "n");
    cell(tr, usd(e.cost_usd), "n");
    var dr = cell(tr, e.draft ? "draft" : "–");
    if (e.draft) dr.className = "draft";
    var pol = cell(tr, "");
    e.policies
      .filter(function (p) {
        return p.outcome !== "pass";
      })
      .forEach(function (p) {
        var b = document.createElement("span");
        b.className = "badge o-" + p.outcome;
        b.textContent = p.policy + (p.model_after ? " → " + p.model_after : "");
        pol.appendChild(b);
      });
    return tr;
  }

  function addRecent(e, fresh) {
    if (seen.has(e.request_id)) return;
    seen.add(e.request_id);
    var body = $("recent").tBodies[0];
    body.insertBefore(rowFor(e, fresh), body.firstChild);
    while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
  }

  function render(data) {
    renderTiles(data.totals);
    renderTimeline(data.timeline);
    usageCharts(data.by_service, "chart-cost-service", "chart-tokens-service", "service");
    usageCharts(data.by_model, "chart-cost-model", "chart-tokens-model", "model");
    renderPolicies(data.policies);
    renderUpstreams(data.upstreams);
    data.recent
      .slice()
      .reverse()
      .forEach(function (e) {
        addRecent(e, false);
      });
    $("updated").textContent = "updated " + new Date(data.now * 1000).toLocaleTimeString();
    document.body.setAttribute("data-loaded", "true");
  }

  function showSignedOut() {
    signedOut = true;
    if (source) source.close();
    setLive("off", "signed out: run 'openclaw dashboard'");
  }

  function refresh() {
    if (signedOut) return;
    fetch("/dashboard/api/summary", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) {
          showSignedOut();
          return null;
        }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        if (data) render(data);
      })
      .catch(function () {
        setLive("error", "daemon unreachable");
      });
  }

  function soon() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      refresh();
    }, 400);
  }

  function listen() {
    source = new EventSource("/dashboard/api/events");
    source.addEventListener("ready", function () {
      setLive("on", "live");
    });
    source.addEventListener("request", function (ev) {
      addRecent(JSON.parse(ev.data), true);
      soon();
    });
    source.onerror = function () {
      if (signedOut) return;
      setLive("connecting", "reconnecting…");
      refresh(); // tells a dropped session (401) from a daemon restart
    };
  }

  refresh();
  listen();
  setInterval(refresh, 15000);
})();
