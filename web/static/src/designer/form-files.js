// The form files beside the diagram: SpiffArena's .json JSON Schema and ui-schema files a
// user task names (formJsonSchemaFilename / formUiSchemaFilename). Listed, added (typed or
// uploaded), edited as text and removed here; sent with the diagram when it is validated,
// saved as a draft or deployed. The preview renders a chosen user task's form on the server
// with the task page's own renderer (POST /designer/api/form-preview), again as it is typed.
import { getProperty } from "./irpm-properties.js";
import { fmt, postJson } from "./shared.js";

const NAME = /^[\w\u4e00-\u9fff][\w\u4e00-\u9fff.-]{0,200}\.json$/;
const SCHEMA = "formJsonSchemaFilename";
const UI = "formUiSchemaFilename";

export function formFiles(modeler, onChange) {
  const root = document.getElementById("form-files");
  if (!root) {
    return { list: () => [], load: () => {} };
  }
  const files = new Map();
  let current = null;
  let timer = null;
  // Each preview request's number: an answer to an older one (typing goes on while it is
  // on its way) is dropped, so the preview always shows the latest text.
  let asked = 0;
  const listBox = root.querySelector("#form-file-list");
  const editor = root.querySelector("#form-file-text");
  const currentName = root.querySelector("#form-file-current");
  const taskSelect = root.querySelector("#form-preview-task");
  const preview = root.querySelector("#form-preview");
  const registry = modeler.get("elementRegistry");
  const msg = (key) => root.dataset[key] || key;

  const userTasks = () => registry.filter((e) => e.type === "bpmn:UserTask"
    && getProperty(e.businessObject, SCHEMA));

  const renderList = () => {
    listBox.replaceChildren();
    [...files.keys()].sort().forEach((name) => {
      const item = document.createElement("button");
      item.type = "button";
      item.className = `list-group-item list-group-item-action py-1 small${
        name === current ? " active" : ""}`;
      item.dataset.formFile = name;
      item.textContent = name;
      item.addEventListener("click", () => open(name));
      listBox.appendChild(item);
    });
    root.dataset.count = String(files.size);
  };

  function open(name) {
    current = files.has(name) ? name : null;
    editor.value = current ? files.get(current) : "";
    editor.disabled = !current;
    currentName.textContent = current || "";
    renderList();
  }

  const renderTasks = () => {
    const chosen = taskSelect.value;
    taskSelect.replaceChildren();
    userTasks().forEach((task) => {
      const option = document.createElement("option");
      option.value = task.id;
      option.textContent = `${task.businessObject.name || task.id} (${task.id})`;
      taskSelect.appendChild(option);
    });
    if ([...taskSelect.options].some((o) => o.value === chosen)) {
      taskSelect.value = chosen;
    }
  };

  const say = (kind, text) => {
    const note = document.createElement("div");
    note.className = `alert alert-${kind} py-1 small mb-0`;
    note.dataset.previewProblem = "";
    note.textContent = text;
    preview.replaceChildren(note);
  };

  const renderPreview = async () => {
    const task = registry.get(taskSelect.value);
    const mine = ++asked;
    preview.dataset.state = "busy";
    if (!task) {
      preview.replaceChildren();
      preview.dataset.state = "empty";
      return;
    }
    const schemaName = getProperty(task.businessObject, SCHEMA);
    const uiName = getProperty(task.businessObject, UI);
    if (!files.has(schemaName)) {
      say("warning", fmt(msg("msgMissing"), { file: schemaName }));
      preview.dataset.state = "problem";
      return;
    }
    const withUi = uiName && files.has(uiName);
    const { ok, body } = await postJson(root.dataset.previewUrl, {
      schema: files.get(schemaName), ui: withUi ? files.get(uiName) : "" });
    if (mine !== asked) {
      return;
    }
    if (ok && body.html !== undefined) {
      // The server's own rendering (escaped by its templates), not the user's text.
      preview.innerHTML = body.html;
      preview.querySelectorAll("button").forEach((b) => { b.type = "button"; });
      if (uiName && !withUi) {  // shown without its ui-schema, and said so
        const note = document.createElement("div");
        note.className = "alert alert-warning py-1 small";
        note.dataset.previewNote = "";
        note.textContent = fmt(msg("msgMissing"), { file: uiName });
        preview.prepend(note);
      }
      preview.dataset.state = "ready";
    } else {
      say("danger", body.message || msg("msgError"));
      preview.dataset.state = "problem";
    }
  };

  const later = () => {
    preview.dataset.state = "busy";
    clearTimeout(timer);
    timer = setTimeout(() => { renderPreview().catch(() => {}); }, 300);
  };

  const changed = () => {
    onChange();
    later();
  };

  const put = (name, text) => {
    files.set(name, text);
    open(name);
    changed();
  };

  editor.addEventListener("input", () => {
    if (current) {
      files.set(current, editor.value);
      changed();
    }
  });
  root.querySelector("#form-file-add").addEventListener("click", () => {
    const input = root.querySelector("#form-file-name");
    const name = input.value.trim();
    if (!NAME.test(name) || files.has(name)) {
      input.classList.add("is-invalid");
      return;
    }
    input.classList.remove("is-invalid");
    input.value = "";
    put(name, "{\n}\n");
  });
  root.querySelector("#form-file-upload").addEventListener("change", async (event) => {
    for (const file of [...event.target.files]) {
      if (NAME.test(file.name)) {
        put(file.name, await file.text());
      }
    }
    event.target.value = "";
  });
  root.querySelector("#form-file-remove").addEventListener("click", () => {
    if (current) {
      files.delete(current);
      open([...files.keys()].sort()[0]);
      changed();
    }
  });
  taskSelect.addEventListener("change", later);
  modeler.get("eventBus").on("commandStack.changed", () => { renderTasks(); later(); });
  modeler.get("eventBus").on("selection.changed", ({ newSelection }) => {
    const chosen = (newSelection || []).find((e) => userTasks().includes(e));
    if (chosen && taskSelect.value !== chosen.id) {
      taskSelect.value = chosen.id;
      later();
    }
  });

  return {
    list: () => [...files.entries()].map(([filename, text]) => ({ filename, text })),
    load: (forms) => {
      files.clear();
      (forms || []).forEach((f) => files.set(f.filename, f.text));
      open([...files.keys()].sort()[0]);
      renderTasks();
      later();
    },
  };
}
