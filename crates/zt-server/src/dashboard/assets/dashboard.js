// zt dashboard: progressive enhancement of the provenance graph (pan, zoom, highlight).
// The page works without this script: the graph is a static SVG whose boxes are links.
// No dependencies, no network, no eval; served pinned by its SHA-256 (integrity=).
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";

  function parseBox(svg) {
    var v = (svg.getAttribute("viewBox") || "0 0 100 100").split(/[\s,]+/).map(Number);
    return { x: v[0], y: v[1], w: v[2], h: v[3] };
  }

  function enhance(svg) {
    var home = parseBox(svg);
    var box = { x: home.x, y: home.y, w: home.w, h: home.h };
    var scroller = svg.parentNode;

    // The graph fills its box; the viewBox does the panning and zooming.
    svg.setAttribute("width", "100%");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");

    function apply() {
      svg.setAttribute("viewBox", [box.x, box.y, box.w, box.h].map(function (n) {
        return n.toFixed(1);
      }).join(" "));
    }

    function zoom(factor, cx, cy) {
      var w = Math.min(Math.max(box.w * factor, home.w / 8), home.w * 4);
      var f = w / box.w;
      if (cx === undefined) { cx = box.x + box.w / 2; cy = box.y + box.h / 2; }
      box.x = cx - (cx - box.x) * f;
      box.y = cy - (cy - box.y) * f;
      box.w = w;
      box.h = box.h * f;
      apply();
    }

    function pan(dx, dy) {
      box.x += dx;
      box.y += dy;
      apply();
    }

    function reset() {
      box = { x: home.x, y: home.y, w: home.w, h: home.h };
      apply();
    }

    // Controls, each a real button (keyboard and screen readers reach them).
    var controls = document.createElement("div");
    controls.className = "graph-controls";
    controls.setAttribute("role", "toolbar");
    controls.setAttribute("aria-label", "Graph view");
    [["+", "Zoom in", function () { zoom(0.8); }],
     ["\u2212", "Zoom out", function () { zoom(1.25); }],
     ["Reset", "Reset the view", reset]].forEach(function (c) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = c[0];
      b.setAttribute("aria-label", c[1]);
      b.addEventListener("click", c[2]);
      controls.appendChild(b);
    });
    scroller.parentNode.insertBefore(controls, scroller);

    // Keyboard on the graph's box: arrows pan, + and - zoom, 0 resets.
    scroller.setAttribute("tabindex", "0");
    scroller.setAttribute("aria-label", "Provenance graph: arrow keys pan, + and - zoom, 0 resets; Tab moves between boxes");
    scroller.addEventListener("keydown", function (e) {
      if (e.target !== scroller) { return; }
      var step = box.w / 10;
      var keys = {
        ArrowLeft: function () { pan(-step, 0); },
        ArrowRight: function () { pan(step, 0); },
        ArrowUp: function () { pan(0, -step); },
        ArrowDown: function () { pan(0, step); },
        "+": function () { zoom(0.8); },
        "=": function () { zoom(0.8); },
        "-": function () { zoom(1.25); },
        "0": reset
      };
      if (keys[e.key]) { keys[e.key](); e.preventDefault(); }
    });

    // The pointer's position in graph coordinates.
    function toGraph(clientX, clientY) {
      var r = svg.getBoundingClientRect();
      var scale = Math.max(box.w / r.width, box.h / r.height);
      var offX = (r.width - box.w / scale) / 2;
      var offY = (r.height - box.h / scale) / 2;
      return { x: box.x + (clientX - r.left - offX) * scale, y: box.y + (clientY - r.top - offY) * scale, scale: scale };
    }

    svg.addEventListener("wheel", function (e) {
      var p = toGraph(e.clientX, e.clientY);
      zoom(e.deltaY < 0 ? 0.9 : 1.1, p.x, p.y);
      e.preventDefault();
    }, { passive: false });

    // Drag on the background pans; a press on a box stays a click on its link.
    var drag = null;
    svg.addEventListener("pointerdown", function (e) {
      if (e.button !== 0 || (e.target.closest && e.target.closest("a"))) { return; }
      drag = { x: e.clientX, y: e.clientY, scale: toGraph(e.clientX, e.clientY).scale };
      svg.setPointerCapture(e.pointerId);
    });
    svg.addEventListener("pointermove", function (e) {
      if (!drag) { return; }
      pan((drag.x - e.clientX) * drag.scale, (drag.y - e.clientY) * drag.scale);
      drag.x = e.clientX;
      drag.y = e.clientY;
    });
    function endDrag() { drag = null; }
    svg.addEventListener("pointerup", endDrag);
    svg.addEventListener("pointercancel", endDrag);

    // Highlight: a box, everything upstream of it and everything downstream.
    var edges = Array.prototype.slice.call(svg.querySelectorAll(".edge"));
    var nodes = {};
    Array.prototype.forEach.call(svg.querySelectorAll(".node"), function (n) {
      nodes[n.getAttribute("data-node")] = n;
    });

    function walk(start, fromKey, toKey, lit) {
      var queue = [start];
      var seen = {};
      seen[start] = true;
      while (queue.length) {
        var id = queue.shift();
        edges.forEach(function (e) {
          if (e.getAttribute(fromKey) !== id) { return; }
          lit.push(e);
          var next = e.getAttribute(toKey);
          if (!seen[next]) { seen[next] = true; queue.push(next); }
        });
        if (nodes[id]) { lit.push(nodes[id]); }
      }
    }

    function highlight(id) {
      clear();
      var lit = [];
      walk(id, "data-from", "data-to", lit);
      walk(id, "data-to", "data-from", lit);
      lit.forEach(function (el) { el.classList.add("lit"); });
      svg.classList.add("highlighting");
    }

    function clear() {
      svg.classList.remove("highlighting");
      Array.prototype.forEach.call(svg.querySelectorAll(".lit"), function (el) {
        el.classList.remove("lit");
      });
    }

    Object.keys(nodes).forEach(function (id) {
      var n = nodes[id];
      n.addEventListener("mouseenter", function () { highlight(id); });
      n.addEventListener("focus", function () { highlight(id); });
      n.addEventListener("mouseleave", clear);
      n.addEventListener("blur", clear);
    });

    svg.setAttribute("data-enhanced", "true");
    return SVG_NS;
  }

  function start() {
    var svg = document.getElementById("graph");
    if (svg) { enhance(svg); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
