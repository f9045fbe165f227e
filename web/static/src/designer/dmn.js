// The DMN editor: dmn-js's modeler (static/vendor/dmn-js, window.DmnJS) on a decision
// table file; validate, save a draft, download, deploy (a new version of every process that
// uses the table) through the designer's JSON endpoints.
import {
  confirmDeploy, download, fmt, getJson, postJson, renderProblems, showStatus,
} from "./shared.js";
import { dmnTranslateModule } from "./translate-dmn.js";

const box = document.getElementById("dmn-canvas");
if (box && typeof window.DmnJS === "function") {
  const lang = (box.dataset.lang || "zh_CN").startsWith("zh") ? "zh" : "en";
  const modeler = new window.DmnJS({
    container: box,
    drd: { additionalModules: [dmnTranslateModule(lang)] },
    decisionTable: { additionalModules: [dmnTranslateModule(lang)] },
    literalExpression: { additionalModules: [dmnTranslateModule(lang)] },
  });
  window.irpmDmn = { modeler };
  const filename = box.dataset.filename;
  const xml = async () => (await modeler.saveXML({ format: true })).xml;

  const run = async (cmd) => {
    box.dataset.busy = cmd;
    try {
      if (cmd === "download") {
        download(filename, await xml());
        return;
      }
      const payload = { filename, xml: await xml() };
      if (cmd === "deploy" && !(await confirmDeploy(box, payload))) {
        showStatus("info", box.dataset.msgCancelled);
        return;
      }
      const url = { validate: box.dataset.validateUrl, deploy: box.dataset.deployUrl,
        draft: box.dataset.draftUrl }[cmd];
      const { status, body } = await postJson(url, payload);
      if (body.problems) {
        renderProblems(body.problems, null);
      }
      if (cmd === "validate") {
        showStatus(body.ok ? "success" : "danger", body.ok ? box.dataset.msgValid
          : fmt(box.dataset.msgProblems, { n: body.problems.length }));
      } else {
        showStatus(status === 200 ? "success" : "danger",
          status === 200 ? (body.message || box.dataset.msgSaved)
            : (body.message || body.detail || box.dataset.msgError));
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
    .then((file) => modeler.importXML(file.xml))
    .then(() => {
      const views = modeler.getViews();
      const table = views.find((v) => v.type === "decisionTable");
      return table ? modeler.open(table) : null;
    })
    .then(() => { box.dataset.state = "ready"; })
    .catch((err) => {
      box.dataset.state = "error";
      showStatus("danger", `${box.dataset.msgLoading} ${err.message || ""}`);
    });
}
