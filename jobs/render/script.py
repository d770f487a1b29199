"""The interactive page's script: our own, inlined, no library. Pan and zoom with the wheel and drag,
a tooltip with a node's properties on hover, click for everything upstream and downstream of a node,
double-click or Escape to reset. Reads the graph from the page's `#lineage-data` JSON."""
from __future__ import annotations

SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("lineage-data").textContent);
  var view = document.getElementById("view"), tip = document.getElementById("tip");
  var svg = view.querySelector("svg"), port = svg.getElementById("viewport");
  var at = {x: 0, y: 0, k: 1}, drag = null, selected = null;
  var ups = {}, downs = {};
  data.edges.forEach(function (e) {
    (downs[e[0]] = downs[e[0]] || []).push(e[1]);
    (ups[e[1]] = ups[e[1]] || []).push(e[0]);
  });
  svg.removeAttribute("viewBox");
  svg.setAttribute("width", "100%");
  svg.setAttribute("height", "100%");
  var bg = svg.querySelector("rect.background");
  bg.setAttribute("width", "100%");
  bg.setAttribute("height", "100%");
  svg.querySelectorAll("g.node > title").forEach(function (t) { t.remove(); });
  var nodes = {};
  svg.querySelectorAll("g.node").forEach(function (g) { nodes[g.getAttribute("data-id")] = g; });
  var edges = Array.prototype.slice.call(svg.querySelectorAll("path.edge"));
  Object.keys(nodes).forEach(function (id) {  // labels sized for a typical font: squeeze any that overflow here
    var room = parseFloat(nodes[id].querySelector("rect.shape").getAttribute("width")) - 8;
    nodes[id].querySelectorAll("text").forEach(function (t) {
      if (t.getComputedTextLength() > room) {
        t.setAttribute("textLength", room);
        t.setAttribute("lengthAdjust", "spacingAndGlyphs");
      }
    });
  });

  function apply() {
    port.setAttribute("transform", "translate(" + at.x.toFixed(1) + "," + at.y.toFixed(1) + ") scale(" + at.k.toFixed(4) + ")");
  }
  function fit() {
    var r = view.getBoundingClientRect();
    at.k = Math.min(r.width / data.width, r.height / data.height, 1.5);
    at.x = (r.width - data.width * at.k) / 2;
    at.y = Math.max(0, (r.height - data.height * at.k) / 2);
    apply();
  }
  function reach(start, next) {
    var seen = {}, todo = [start];
    while (todo.length) {
      (next[todo.pop()] || []).forEach(function (n) { if (!seen[n]) { seen[n] = true; todo.push(n); } });
    }
    return seen;
  }
  function select(id) {
    selected = id;
    var up = id ? reach(id, ups) : {}, down = id ? reach(id, downs) : {};
    Object.keys(nodes).forEach(function (n) {
      var c = nodes[n].classList;
      c.toggle("sel", n === id);
      c.toggle("up", !!up[n]);
      c.toggle("down", !!down[n]);
      c.toggle("dim", !!id && n !== id && !up[n] && !down[n]);
    });
    edges.forEach(function (p) {
      var s = p.getAttribute("data-source"), t = p.getAttribute("data-target");
      var lit = !!id && ((up[s] && (up[t] || t === id)) || ((down[s] || s === id) && down[t]));
      p.classList.toggle("lit", lit);
      p.classList.toggle("dim", !!id && !lit);
    });
  }
  function row(table, key, value) {
    var tr = table.insertRow(), k = tr.insertCell(), v = tr.insertCell();
    k.className = "k";
    k.textContent = key;
    v.textContent = value;
  }
  function show(id, ev) {
    var n = data.nodes[id];
    tip.textContent = "";
    var head = document.createElement("div");
    head.className = "head";
    head.textContent = n.label;
    tip.appendChild(head);
    var table = document.createElement("table");
    if (n.label !== id) { row(table, "id", id); }
    row(table, "kind", n.kind);
    if (n.status) { row(table, "status", n.status); }
    n.props.forEach(function (p) { if (p[0] !== "status") { row(table, p[0], p[1]); } });
    tip.appendChild(table);
    tip.style.display = "block";
    move(ev);
  }
  function move(ev) {
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var x = ev.clientX + 14, y = ev.clientY + 14;
    if (x + w > window.innerWidth - 4) { x = Math.max(4, ev.clientX - w - 14); }
    if (y + h > window.innerHeight - 4) { y = Math.max(4, ev.clientY - h - 14); }
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  function nodeOf(ev) {
    var g = ev.target.closest && ev.target.closest("g.node");
    return g ? g.getAttribute("data-id") : null;
  }

  view.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = view.getBoundingClientRect(), px = ev.clientX - r.left, py = ev.clientY - r.top;
    var k = Math.min(8, Math.max(0.05, at.k * Math.exp(-ev.deltaY * (ev.deltaMode ? 0.05 : 0.0015))));
    at.x = px - (px - at.x) * k / at.k;
    at.y = py - (py - at.y) * k / at.k;
    at.k = k;
    apply();
  }, {passive: false});
  view.addEventListener("pointerdown", function (ev) {
    drag = {x: ev.clientX, y: ev.clientY, ox: at.x, oy: at.y, moved: false};
    try { view.setPointerCapture(ev.pointerId); } catch (e) { /* a pointer already gone */ }
  });
  view.addEventListener("pointermove", function (ev) {
    if (drag) {
      var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (drag.moved || Math.abs(dx) + Math.abs(dy) > 3) {
        drag.moved = true;
        view.classList.add("dragging");
        tip.style.display = "none";
        at.x = drag.ox + dx;
        at.y = drag.oy + dy;
        apply();
      }
      return;
    }
    var id = nodeOf(ev);
    if (id) { if (tip.getAttribute("data-for") !== id) { tip.setAttribute("data-for", id); show(id, ev); } else { move(ev); } }
    else { tip.style.display = "none"; tip.removeAttribute("data-for"); }
  });
  view.addEventListener("pointerup", function (ev) {
    var was = drag;
    drag = null;
    view.classList.remove("dragging");
    if (was && !was.moved) {
      var g = document.elementFromPoint(ev.clientX, ev.clientY);
      var id = g && g.closest && g.closest("g.node") ? g.closest("g.node").getAttribute("data-id") : null;
      select(id && id !== selected ? id : null);
    }
  });
  view.addEventListener("pointerleave", function () { tip.style.display = "none"; tip.removeAttribute("data-for"); });
  view.addEventListener("dblclick", function () { select(null); fit(); });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { select(null); }
    if (ev.key === "0" || ev.key === "f") { fit(); }
  });
  window.addEventListener("resize", fit);
  fit();
})();
"""
