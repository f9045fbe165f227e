// The visual diff between two versions of a process: bpmn-js-differ compares the two
// models; the old version is drawn with what was removed (red) and changed (orange), the new
// one with what was added (green), changed and moved, and every difference is listed.
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import { diff } from "bpmn-js-differ";
import spiffworkflow from "./spiffworkflow.json";
import { getJson } from "./shared.js";

const root = document.getElementById("diff");
if (root) {
  const make = (id) => new NavigatedViewer({ container: `#${id}`,
    moddleExtensions: { spiffworkflow } });
  const oldViewer = make("diff-old-canvas");
  const newViewer = make("diff-new-canvas");

  const mark = (viewer, ids, marker) => {
    const registry = viewer.get("elementRegistry");
    const canvas = viewer.get("canvas");
    ids.forEach((id) => {
      if (registry.get(id)) {
        canvas.addMarker(id, marker);
      }
    });
  };

  const list = (entries) => {
    const ul = document.getElementById("diff-list");
    ul.replaceChildren();
    if (!entries.length) {
      const li = document.createElement("li");
      li.className = "list-group-item text-body-secondary";
      li.textContent = root.dataset.msgSame;
      ul.appendChild(li);
    }
    entries.forEach(([kind, id, element, attrs]) => {
      const li = document.createElement("li");
      li.className = `list-group-item diff-item diff-${kind}`;
      li.dataset.kind = kind;
      li.dataset.element = id;
      const badge = document.createElement("span");
      badge.className = `diff-legend diff-${kind} me-2`;
      badge.textContent = root.dataset[`label${kind[0].toUpperCase()}${kind.slice(1)}`];
      const code = document.createElement("code");
      code.textContent = id;
      const name = element && element.name ? ` ${element.name}` : "";
      const type = element && element.$type ? ` (${element.$type.replace("bpmn:", "")})` : "";
      li.append(badge, code, `${name}${type}`);
      if (attrs && attrs.length) {
        const small = document.createElement("small");
        small.className = "ms-2 text-body-secondary";
        small.textContent = attrs.join(", ");
        li.appendChild(small);
      }
      ul.appendChild(li);
    });
  };

  Promise.all([getJson(root.dataset.oldSrc), getJson(root.dataset.newSrc)])
    .then(async ([oldFile, newFile]) => {
      await oldViewer.importXML(oldFile.xml);
      await newViewer.importXML(newFile.xml);
      const oldDefs = oldViewer.getDefinitions();
      const newDefs = newViewer.getDefinitions();
      const result = diff(oldDefs, newDefs);
      const added = Object.keys(result._added);
      const removed = Object.keys(result._removed);
      const changed = Object.keys(result._changed);
      const layout = Object.keys(result._layoutChanged).filter((id) => !changed.includes(id));
      mark(oldViewer, removed, "diff-removed");
      mark(oldViewer, changed, "diff-changed");
      mark(newViewer, added, "diff-added");
      mark(newViewer, changed, "diff-changed");
      mark(newViewer, layout, "diff-layout");
      [oldViewer, newViewer].forEach((v) => v.get("canvas").zoom("fit-viewport"));
      list([
        ...added.map((id) => ["added", id, result._added[id], []]),
        ...removed.map((id) => ["removed", id, result._removed[id], []]),
        ...changed.map((id) => ["changed", id, result._changed[id].model,
          Object.keys(result._changed[id].attrs || {})]),
        ...layout.map((id) => ["layout", id, result._layoutChanged[id], []]),
      ]);
      root.dataset.state = "ready";
      root.dataset.added = added.join(" ");
      root.dataset.removed = removed.join(" ");
      root.dataset.changed = changed.join(" ");
    })
    .catch((err) => {
      root.dataset.state = "error";
      root.dataset.error = err.message;
    });
}
