// The BPMN editor: bpmn-js Modeler with the properties panel (bpmn-js-properties-panel's
// BPMN groups — name, documentation, timers — and IRPM's, see irpm-properties.js) and the
// spiffworkflow moddle extension, so the engine's extension elements survive editing. The
// buttons validate (problems listed and marked on the diagram at their element), save a
// draft, download, and deploy (the server validates again and refuses anything invalid).
import Modeler from "bpmn-js/lib/Modeler";
import {
  BpmnPropertiesPanelModule, BpmnPropertiesProviderModule,
} from "bpmn-js-properties-panel";
import spiffworkflow from "./spiffworkflow.json";
import irpm from "./irpm-context.json";
import { IrpmPropertiesModule } from "./irpm-properties.js";
import { formFiles } from "./form-files.js";
import {
  confirmDeploy, download, fmt, getJson, postJson, renderProblems, showStatus,
} from "./shared.js";
import { STRINGS } from "./strings.js";
import { translateModule } from "./translate.js";

const box = document.getElementById("canvas");
if (box) {
  const lang = (box.dataset.lang || "zh_CN").startsWith("zh") ? "zh" : "en";
  window.IRPM_DESIGNER_STRINGS = STRINGS[lang];
  const modeler = new Modeler({
    container: box,
    propertiesPanel: { parent: "#properties" },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule,
      IrpmPropertiesModule, translateModule(lang)],
    moddleExtensions: { spiffworkflow, irpm },
  });
  window.irpmDesigner = { modeler };
  const canvas = modeler.get("canvas");
  const overlays = modeler.get("overlays");
  const registry = modeler.get("elementRegistry");
  let filename = box.dataset.filename || "process.bpmn";
  let marked = [];
  // Changes not yet saved as a draft or deployed: leaving the page asks first.
  let dirty = false;
  modeler.get("eventBus").on("commandStack.changed", () => { dirty = true; });
  const forms = formFiles(modeler, () => { dirty = true; });
  window.addEventListener("beforeunload", (event) => {
    if (dirty) {
      event.preventDefault();
    }
  });

  const clearMarks = () => {
    marked.forEach((id) => canvas.removeMarker(id, "irpm-problem"));
    overlays.remove({ type: "irpm-problem" });
    marked = [];
  };

  const pick = (id) => {
    const element = registry.get(id);
    if (element) {
      modeler.get("selection").select(element);
      canvas.scrollToElement(element);
    }
  };

  const showProblems = (problems) => {
    clearMarks();
    const byElement = {};
    problems.forEach((p) => {
      if (p.element && registry.get(p.element)) {
        (byElement[p.element] = byElement[p.element] || []).push(p.message);
      }
    });
    Object.entries(byElement).forEach(([id, messages]) => {
      canvas.addMarker(id, "irpm-problem");
      marked.push(id);
      const badge = document.createElement("div");
      badge.className = "irpm-problem-badge";
      badge.dataset.element = id;
      badge.title = messages.join("\n");
      badge.textContent = String(messages.length);
      overlays.add(id, "irpm-problem", { position: { top: -10, right: 10 }, html: badge });
    });
    renderProblems(problems, pick);
    box.dataset.problems = String(problems.length);
  };

  const xml = async () => (await modeler.saveXML({ format: true })).xml;

  const run = async (cmd) => {
    box.dataset.busy = cmd;
    try {
      if (cmd === "download") {
        download(filename, await xml());
        return;
      }
      const payload = { filename, xml: await xml(), forms: forms.list() };
      if (cmd === "deploy" && !(await confirmDeploy(box, payload))) {
        showStatus("info", box.dataset.msgCancelled);
        return;
      }
      const url = { validate: box.dataset.validateUrl, deploy: box.dataset.deployUrl,
        draft: box.dataset.draftUrl }[cmd];
      const { status, body } = await postJson(url, payload);
      if (body.problems) {
        showProblems(body.problems);
      }
      if (cmd === "validate") {
        showStatus(body.ok ? "success" : "danger", body.ok ? box.dataset.msgValid
          : fmt(box.dataset.msgProblems, { n: body.problems.length }));
      } else if (cmd === "deploy") {
        if (status === 200) {
          dirty = false;
          clearMarks();
          renderProblems([], pick);
          // The diff of the process this page edits (deploying its file may also version
          // the processes that call it).
          const made = (body.deployed || []).filter((d) => d.created);
          const created = made.find((d) => d.process_id === box.dataset.process) || made[0];
          const origin = document.getElementById("editor-origin");
          if (origin && created && created.process_id === box.dataset.process) {
            origin.textContent = `v${created.version}`;
          }
          showStatus("success", body.message,
            created ? { href: created.diff_url, text: box.dataset.msgDiff } : null);
        } else {
          showStatus("danger", body.message || box.dataset.msgError);
        }
      } else {
        dirty = dirty && status !== 200;
        showStatus(status === 200 ? "success" : "danger",
          status === 200 ? box.dataset.msgSaved : (body.detail || box.dataset.msgError));
      }
    } catch (err) {
      showStatus("danger", `${box.dataset.msgError} ${err.message || ""}`);
    } finally {
      delete box.dataset.busy;
    }
  };

  document.querySelectorAll("[data-cmd]").forEach((button) => {
    button.addEventListener("click", () => run(button.dataset.cmd));
  });

  getJson(box.dataset.src)
    .then(async (file) => {
      filename = file.filename || filename;
      await modeler.importXML(file.xml);
      forms.load(file.forms);
    })
    .then(() => {
      canvas.zoom("fit-viewport");
      box.dataset.state = "ready";
    })
    .catch((err) => {
      box.dataset.state = "error";
      showStatus("danger", `${box.dataset.msgLoading} ${err.message || ""}`);
    });
}
