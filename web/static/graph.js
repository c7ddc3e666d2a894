// Node Community: the organisation map's pan, zoom, search-to-focus and side
// panel. The page works without it: the server draws the map, centres it on
// ?focus=, fills the panel for ?person=, and every circle is a link. This file
// only saves those round trips. No library; it reads numbers and handles from
// data-* attributes and writes text with textContent, never HTML.
(function () {
  "use strict";

  var svg = document.getElementById("org-map");
  if (!svg) return;
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function parseBox(s) {
    var p = (s || "").trim().split(/[\s,]+/).map(Number);
    return p.length === 4 && p.every(isFinite) ? { x: p[0], y: p[1], w: p[2], h: p[3] } : null;
  }
  var home = parseBox(svg.getAttribute("data-home")) || { x: 0, y: 0, w: 1000, h: 1000 };
  var box = parseBox(svg.getAttribute("viewBox")) || home;
  var MIN_W = 40, MAX_W = home.w * 1.5;

  function setBox(b) {
    var w = Math.min(Math.max(b.w, MIN_W), MAX_W);
    var h = w * (b.h / b.w);
    // Keep the centre where it was asked to be when the size had to change.
    var cx = b.x + b.w / 2, cy = b.y + b.h / 2;
    box = { x: cx - w / 2, y: cy - h / 2, w: w, h: h };
    svg.setAttribute("viewBox", [box.x, box.y, box.w, box.h].map(function (n) { return n.toFixed(2); }).join(" "));
  }

  var anim = 0;
  function animateTo(target) {
    cancelAnimationFrame(anim);
    if (reduceMotion) { setBox(target); return; }
    var from = box, start = performance.now(), dur = 280;
    function step(now) {
      var t = Math.min(1, (now - start) / dur), e = t * (2 - t);
      setBox({
        x: from.x + (target.x - from.x) * e, y: from.y + (target.y - from.y) * e,
        w: from.w + (target.w - from.w) * e, h: from.h + (target.h - from.h) * e
      });
      if (t < 1) anim = requestAnimationFrame(step);
    }
    anim = requestAnimationFrame(step);
  }

  // A point of the screen in map units (handles letterboxing via the CTM).
  function toMap(clientX, clientY) {
    var m = svg.getScreenCTM();
    if (!m) return { x: box.x + box.w / 2, y: box.y + box.h / 2 };
    var pt = svg.createSVGPoint();
    pt.x = clientX; pt.y = clientY;
    var p = pt.matrixTransform(m.inverse());
    return { x: p.x, y: p.y };
  }

  function zoomAt(factor, at) {
    var w = Math.min(Math.max(box.w / factor, MIN_W), MAX_W);
    var k = w / box.w;
    setBox({ x: at.x - (at.x - box.x) * k, y: at.y - (at.y - box.y) * k, w: w, h: box.h * k });
  }

  // Tools are shown only when this script runs: without it they would do nothing.
  var tools = document.querySelector("[data-map-tools]");
  if (tools) {
    tools.hidden = false;
    tools.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-zoom]");
      if (!b) return;
      var centre = { x: box.x + box.w / 2, y: box.y + box.h / 2 };
      var z = b.getAttribute("data-zoom");
      if (z === "in") zoomAt(1.6, centre);
      else if (z === "out") zoomAt(1 / 1.6, centre);
      else animateTo(home);
    });
  }

  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    zoomAt(e.deltaY < 0 ? 1.2 : 1 / 1.2, toMap(e.clientX, e.clientY));
  }, { passive: false });

  // Drag to pan; a drag that moved is not a click on the person under it.
  var drag = null, dragged = false;
  svg.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, box: box, id: e.pointerId };
    dragged = false;
  });
  svg.addEventListener("pointermove", function (e) {
    if (!drag || e.pointerId !== drag.id) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!dragged && Math.abs(dx) + Math.abs(dy) < 5) return;
    if (!dragged) { dragged = true; svg.setPointerCapture(e.pointerId); svg.classList.add("dragging"); }
    var rect = svg.getBoundingClientRect();
    var scale = Math.max(drag.box.w / rect.width, drag.box.h / rect.height);
    setBox({ x: drag.box.x - dx * scale, y: drag.box.y - dy * scale, w: drag.box.w, h: drag.box.h });
  });
  function endDrag(e) {
    if (!drag || e.pointerId !== drag.id) return;
    drag = null;
    svg.classList.remove("dragging");
  }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);

  // The side panel.
  var panel = document.querySelector("[data-panel]");
  var panelEmpty = document.querySelector("[data-panel-empty]");
  function field(name) { return panel && panel.querySelector('[data-field="' + name + '"]'); }
  function setText(name, text) { var el = field(name); if (el) el.textContent = text; }
  function communityLabel(c) {
    // Communities of one person are listed together, under -1.
    var legend = '[data-testid="map-legend"] li[data-community="';
    var li = document.querySelector(legend + c + '"] [data-label]') || document.querySelector(legend + '-1"] [data-label]');
    return li ? li.textContent : "Community " + (Number(c) + 1);
  }
  function nameOf(circle) {
    var t = circle.querySelector("title");
    return t ? t.textContent : circle.getAttribute("data-h");
  }
  function fillPanel(c) {
    if (!panel) return;
    var h = c.getAttribute("data-h");
    var name = field("name");
    if (name) { name.textContent = nameOf(c); name.setAttribute("href", "/people/" + encodeURIComponent(h)); }
    setText("handle", "@" + h);
    setText("community", communityLabel(c.getAttribute("data-c")));
    setText("degree", c.getAttribute("data-d"));
    setText("strength", c.getAttribute("data-s"));
    setText("pagerank", c.getAttribute("data-p"));
    setText("betweenness", c.getAttribute("data-b"));
    setText("reach", (c.getAttribute("data-r") || "").split(",").join(" / "));
    setText("role", c.hasAttribute("data-broker") ? "broker" : c.hasAttribute("data-isolated") ? "isolated" : "—");
    panel.hidden = false;
    if (panelEmpty) panelEmpty.hidden = true;
  }

  // Ties of the selected person, from the pairs of circle indices the server
  // put in data-ties (read once, on the first selection).
  var adjacency = null, byIndex = null;
  function neighbours(i) {
    if (!adjacency) {
      adjacency = {};
      byIndex = {};
      svg.querySelectorAll("circle[data-i]").forEach(function (c) { byIndex[c.getAttribute("data-i")] = c; });
      var p = (svg.getAttribute("data-ties") || "").split(" ");
      for (var k = 0; k + 1 < p.length; k += 2) {
        (adjacency[p[k]] = adjacency[p[k]] || []).push(p[k + 1]);
        (adjacency[p[k + 1]] = adjacency[p[k + 1]] || []).push(p[k]);
      }
    }
    return adjacency[i] || [];
  }
  function highlightTies(c) {
    var x = c.getAttribute("cx"), y = c.getAttribute("cy"), d = "";
    neighbours(c.getAttribute("data-i")).forEach(function (j) {
      var o = byIndex[j];
      if (o) d += "M" + x + " " + y + "L" + o.getAttribute("cx") + " " + o.getAttribute("cy");
    });
    var path = svg.querySelector("path.focus-edges");
    if (!path) {
      path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      path.setAttribute("class", "focus-edges");
      svg.querySelector("g.edges").appendChild(path);
    }
    if (d) path.setAttribute("d", d); else path.removeAttribute("d");
  }

  function select(c, cls) {
    svg.querySelectorAll("circle.focus, circle.sel").forEach(function (o) { o.classList.remove("focus", "sel"); });
    c.classList.add(cls);
    // Last in the group is drawn on top.
    var a = c.closest("a") || c;
    a.parentNode.appendChild(a);
    highlightTies(c);
    fillPanel(c);
    var url = new URL(window.location.href);
    url.searchParams.delete("focus");
    url.searchParams.delete("person");
    url.searchParams.set(cls === "focus" ? "focus" : "person", c.getAttribute("data-h"));
    history.replaceState(null, "", url.pathname + "?" + url.searchParams.toString());
  }

  svg.addEventListener("click", function (e) {
    var c = e.target.closest("circle[data-h]");
    if (!c) return;
    e.preventDefault();
    if (dragged) { dragged = false; return; }
    select(c, "sel");
  });

  function find(q) {
    q = q.trim().toLowerCase().replace(/^@/, "");
    if (!q) return null;
    var all = svg.querySelectorAll("circle[data-h]");
    var i, exact = null, partial = [];
    for (i = 0; i < all.length; i++) {
      var h = all[i].getAttribute("data-h"), n = nameOf(all[i]).toLowerCase();
      if (h === q || n === q) { exact = all[i]; break; }
      if (h.indexOf(q) >= 0 || n.indexOf(q) >= 0) partial.push(all[i]);
    }
    return exact || (partial.length === 1 ? partial[0] : null);
  }

  function focusOn(c) {
    var x = Number(c.getAttribute("cx")), y = Number(c.getAttribute("cy")), s = 300;
    animateTo({ x: x - s / 2, y: y - s / 2, w: s, h: s });
    select(c, "focus");
  }

  // Search-to-focus stays on the page when only the person changed; a changed
  // filter (window, community, kind) or a miss goes to the server.
  var form = document.querySelector('[data-testid="map-filters"]');
  if (form) {
    var initial = new FormData(form);
    form.addEventListener("submit", function (e) {
      var now = new FormData(form), changed = false;
      ["window", "community", "kind"].forEach(function (k) { if (now.get(k) !== initial.get(k)) changed = true; });
      var q = String(now.get("focus") || "");
      if (changed || !q) return;
      var c = find(q);
      if (!c) return;
      e.preventDefault();
      var err = document.querySelector('[data-testid="map-error"]');
      if (err) err.remove();
      focusOn(c);
    });
  }
})();
