// The task page's process diagram: bpmn-js's NavigatedViewer (static/vendor/bpmn-js, from
// npm) draws the definition's BPMN, fetched as JSON from /tasks/<id>/diagram (authorized
// like the page), marks the current step (irpm-current) and the steps already done
// (irpm-done), and centres on the current step.
"use strict";
(() => {
  const box = document.getElementById("diagram");
  if (!box || typeof window.BpmnJS !== "function") {
    return;
  }
  const fail = () => {
    box.dataset.state = "error";
  };
  const viewer = new window.BpmnJS({ container: box });
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  let current = null;

  const showCurrent = () => {
    canvas.zoom("fit-viewport");
    if (!current) {
      return;
    }
    canvas.zoom(0.8);
    const view = canvas.viewbox();
    canvas.viewbox({
      x: current.x + current.width / 2 - view.width / 2,
      y: current.y + current.height / 2 - view.height / 2,
      width: view.width,
      height: view.height,
    });
  };

  fetch(box.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => {
      if (!response.ok) {
        throw new Error(`diagram: HTTP ${response.status}`);
      }
      return response.json();
    })
    .then((diagram) => viewer.importXML(diagram.xml).then(() => diagram))
    .then((diagram) => {
      (diagram.done || []).forEach((id) => {
        if (registry.get(id)) {
          canvas.addMarker(id, "irpm-done");
        }
      });
      (diagram.current || []).forEach((id) => {
        const element = registry.get(id);
        if (element) {
          canvas.removeMarker(id, "irpm-done");
          canvas.addMarker(id, "irpm-current");
          current = current || element;
        }
      });
      showCurrent();
      box.dataset.state = "ready";
      box.dataset.current = (diagram.current || []).join(" ");
      const tools = document.querySelector("[data-role=diagram-tools]");
      if (tools) {
        tools.hidden = false;
        tools.addEventListener("click", (event) => {
          const button = event.target.closest("[data-diagram]");
          if (button && button.dataset.diagram === "fit") {
            canvas.zoom("fit-viewport");
          } else if (button) {
            showCurrent();
          }
        });
      }
    })
    .catch(fail);
})();
