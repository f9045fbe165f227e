// The properties panel's "任务上下文 / Task context" group for user and manual tasks: the
// read-only fields the task page shows beside the form (irpm:context, engine/task_context.py),
// one per line as "source | label | English label | optional", checked as typed. The engine
// checks them again at deploy, and lint checks each source's variable.
import { jsx } from "@bpmn-io/properties-panel/preact/jsx-runtime";
import { Group, TextAreaEntry, isTextAreaEntryEdited } from "@bpmn-io/properties-panel";
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";

const CONTEXT = "irpm:Context";
// As engine/task_context.py: a variable name, then .key or .0 steps.
const SOURCE = /^[A-Za-z_]\w*(\.\w+)*$/;

function t(key) {
  const strings = window.IRPM_DESIGNER_STRINGS || {};
  return strings[key] || key;
}

function contextOf(bo) {
  const ext = bo.get("extensionElements");
  return ext && (ext.get("values") || []).find((v) => is(v, CONTEXT));
}

// The fields as lines: "suggestion.text | 群众意见 | Citizen's feedback | optional".
export function contextText(bo) {
  const found = contextOf(bo);
  return ((found && found.get("fields")) || []).map((f) => [
    f.source || "", f.label || "", f.label_en || "", f.optional === "true" ? "optional" : "",
  ].join(" | ").replace(/( \| )+$/, "")).join("\n");
}

// The lines as fields, or the first line's fault.
export function parseContext(text) {
  const fields = [];
  const lines = (text || "").split("\n");
  for (let i = 0; i < lines.length; i += 1) {
    if (!lines[i].trim()) {
      continue;
    }
    const [source, label, labelEn, flag] = lines[i].split("|").map((p) => p.trim());
    const fault = !SOURCE.test(source || "") ? "contextSource" : !label ? "contextLabel"
      : flag && flag !== "optional" ? "contextFlag" : null;
    if (fault) {
      return { error: `${t("contextLine").replace("{n}", String(i + 1))}: ${t(fault)}` };
    }
    fields.push({ source, label, label_en: labelEn || undefined,
      optional: flag ? "true" : undefined });
  }
  return { fields };
}

function setContext(element, text, bpmnFactory, commandStack) {
  const { fields, error } = parseContext(text);
  if (error) {
    return;
  }
  const bo = getBusinessObject(element);
  const commands = [];
  let ext = bo.get("extensionElements");
  if (!ext) {
    ext = bpmnFactory.create("bpmn:ExtensionElements", { values: [] });
    ext.$parent = bo;
    commands.push({ cmd: "element.updateModdleProperties",
      context: { element, moddleElement: bo, properties: { extensionElements: ext } } });
  }
  const old = contextOf(bo);
  const values = (ext.get("values") || []).filter((v) => v !== old);
  if (fields.length) {
    const context = bpmnFactory.create(CONTEXT, { fields: [] });
    context.$parent = ext;
    context.fields = fields.map((f) => {
      const made = bpmnFactory.create("irpm:Field", f);
      made.$parent = context;
      return made;
    });
    values.splice(old ? (ext.get("values") || []).indexOf(old) : values.length, 0, context);
  }
  commands.push({ cmd: "element.updateModdleProperties",
    context: { element, moddleElement: ext, properties: { values } } });
  commandStack.execute("properties-panel.multi-command-executor", commands);
}

function ContextEntry(props) {
  const { element } = props;
  const bpmnFactory = useService("bpmnFactory");
  const commandStack = useService("commandStack");
  const debounce = useService("debounceInput");
  return jsx(TextAreaEntry, {
    element, id: "irpm-context", label: t("contextFields"), description: t("contextHelp"),
    debounce, rows: 5, monospace: true,
    validate: (value) => parseContext(value).error || null,
    getValue: () => contextText(getBusinessObject(element)),
    setValue: (value) => setContext(element, value, bpmnFactory, commandStack),
  });
}

export function contextGroups(element) {
  if (!is(element, "bpmn:UserTask") && !is(element, "bpmn:ManualTask")) {
    return [];
  }
  return [{ id: "irpm-task-context", label: t("contextGroup"), component: Group,
    entries: [{ id: "irpm-context", component: ContextEntry, isEdited: isTextAreaEntryEdited }],
    shouldOpen: true }];
}
