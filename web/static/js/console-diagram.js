// The console's diagrams, drawn by bpmn-js's NavigatedViewer (static/vendor/bpmn-js):
// - data-mode="instance": the completed path (irpm-done, elements and the flows between
//   them) and the current tokens (irpm-current), from /console/instances/<id>/diagram;
// - data-mode="heatmap": per element, overlays with the number of instances waiting,
//   passed and failed, and a fill whose intensity follows the waiting count; the counts
//   come with the page (data-counts), the BPMN from /console/heatmap/<definition>/diagram.
// The result is exposed as data- attributes (data-state, data-current, data-counted,
// data-zoom) for tests and assistive tools. Buttons with data-zoom="in|out|fit" zoom
// around the centre or fit the whole diagram; the mouse wheel and dragging work as in
// bpmn-js (NavigatedViewer).
"use strict";
(() => {
  const box = document.getElementById("diagram");
  if (!box || typeof window.BpmnJS !== "function") {
    return;
  }
  const viewer = new window.BpmnJS({ container: box });
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");

  const markPath = (diagram) => {
    const done = new Set(diagram.done || []);
    done.forEach((id) => {
      if (registry.get(id)) {
        canvas.addMarker(id, "irpm-done");
      }
    });
    registry.filter((el) => el.type === "bpmn:SequenceFlow").forEach((flow) => {
      const source = flow.businessObject.sourceRef;
      const target = flow.businessObject.targetRef;
      if (source && target && done.has(source.id)
          && (done.has(target.id) || (diagram.current || []).includes(target.id))) {
        canvas.addMarker(flow.id, "irpm-done");
      }
    });
    (diagram.current || []).forEach((id) => {
      if (registry.get(id)) {
        canvas.removeMarker(id, "irpm-done");
        canvas.addMarker(id, "irpm-current");
      }
    });
    box.dataset.current = (diagram.current || []).join(" ");
  };

  const badge = (kind, count, title) => {
    const el = document.createElement("span");
    el.className = `heat-badge heat-${kind}`;
    el.textContent = String(count);
    el.title = title;
    el.dataset.kind = kind;
    return el;
  };

  const drawHeat = (diagram) => {
    const overlays = viewer.get("overlays");
    const counts = diagram.counts || JSON.parse(box.dataset.counts || "{}");
    const most = Math.max(1, ...Object.values(counts).map((c) => c.waiting));
    const labels = JSON.parse(box.dataset.labels || "{}");
    let counted = 0;
    Object.entries(counts).forEach(([id, c]) => {
      if (!registry.get(id)) {
        return;
      }
      counted += 1;
      const level = c.waiting ? Math.max(1, Math.ceil((5 * c.waiting) / most)) : 0;
      canvas.addMarker(id, `heat-${level}`);
      const row = document.createElement("div");
      row.className = "d-flex gap-1";
      row.dataset.element = id;
      if (c.waiting) {
        row.appendChild(badge("waiting", c.waiting, labels.waiting || "waiting"));
      }
      if (c.passed) {
        row.appendChild(badge("passed", c.passed, labels.passed || "passed"));
      }
      if (c.failed) {
        row.appendChild(badge("failed", c.failed, labels.failed || "failed"));
      }
      overlays.add(id, "irpm-heat", { position: { top: -12, right: 20 }, html: row });
    });
    box.dataset.counted = String(counted);
  };

  const showZoom = () => {
    box.dataset.zoom = canvas.zoom().toFixed(2);
  };

  const zoomBy = (factor) => {
    const viewbox = canvas.viewbox();
    const centre = { x: viewbox.outer.width / 2, y: viewbox.outer.height / 2 };
    canvas.zoom(Math.min(4, Math.max(0.2, canvas.zoom() * factor)), centre);
    showZoom();
  };

  document.querySelectorAll("[data-zoom]").forEach((button) => {
    if (button === box) {
      return;
    }
    button.addEventListener("click", () => {
      const how = button.dataset.zoom;
      if (how === "fit") {
        canvas.zoom("fit-viewport", "auto");
        showZoom();
      } else {
        zoomBy(how === "in" ? 1.25 : 0.8);
      }
    });
  });
  viewer.on("canvas.viewbox.changed", showZoom);

  fetch(box.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => {
      if (!response.ok) {
        throw new Error(`diagram: HTTP ${response.status}`);
      }
      return response.json();
    })
    .then((diagram) => viewer.importXML(diagram.xml).then(() => diagram))
    .then((diagram) => {
      canvas.zoom("fit-viewport", "auto");
      showZoom();
      if (box.dataset.mode === "heatmap") {
        drawHeat(diagram);
      } else {
        markPath(diagram);
      }
      box.dataset.state = "ready";
    })
    .catch((error) => {
      box.dataset.error = String(error && error.message ? error.message : error);
      box.dataset.state = "error";
    });
})();
