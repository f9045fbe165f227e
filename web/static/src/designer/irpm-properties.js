// The properties the IRPM engine reads, as a properties-panel group ("IRPM") next to
// bpmn-js-properties-panel's own (name, documentation, timers): sequence-flow conditions,
// scripts, pre-/post-scripts, the decision a business rule task calls, the process a call
// activity calls, the lane (role) of a task, and spiffworkflow:properties — the task form
// (formSchema, JSON, checked as typed), dueIn, candidate users/groups and who may not do
// the task (excludes: separation of duties, 回避 — engine/separation.py).
import { jsx } from "@bpmn-io/properties-panel/preact/jsx-runtime";
import {
  Group, SelectEntry, TextAreaEntry, TextFieldEntry,
  isTextFieldEntryEdited, isTextAreaEntryEdited,
} from "@bpmn-io/properties-panel";
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";
import { contextGroups } from "./task-context.js";

const SPIFF = "spiffworkflow";

function t(key) {
  const strings = window.IRPM_DESIGNER_STRINGS || {};
  return strings[key] || key;
}

// ------------------------------------------------------------------ model helpers

function extensions(bo) {
  return (bo.get("extensionElements") && bo.get("extensionElements").get("values")) || [];
}

function findExtension(bo, type) {
  return extensions(bo).find((e) => is(e, type));
}

function ensureExtensions(element, bo, bpmnFactory, commands) {
  let ext = bo.get("extensionElements");
  if (!ext) {
    ext = bpmnFactory.create("bpmn:ExtensionElements", { values: [] });
    ext.$parent = bo;
    commands.push({ cmd: "element.updateModdleProperties",
      context: { element, moddleElement: bo, properties: { extensionElements: ext } } });
  }
  return ext;
}

// Set (or remove, when empty) a body-text extension element such as spiffworkflow:preScript.
function setBodyExtension(element, type, value, bpmnFactory, commandStack) {
  const bo = getBusinessObject(element);
  const commands = [];
  const ext = ensureExtensions(element, bo, bpmnFactory, commands);
  const existing = findExtension(bo, type);
  const values = (ext.get("values") || []).filter((v) => v !== existing);
  if (value) {
    const created = bpmnFactory.create(type, { value });
    created.$parent = ext;
    values.push(created);
  }
  commands.push({ cmd: "element.updateModdleProperties",
    context: { element, moddleElement: ext, properties: { values } } });
  commandStack.execute("properties-panel.multi-command-executor", commands);
}

export function getProperty(bo, name) {
  const props = findExtension(bo, "spiffworkflow:Properties");
  const found = props && (props.get("properties") || []).find((p) => p.name === name);
  return found ? found.value : "";
}

function setProperty(element, name, value, bpmnFactory, commandStack) {
  const bo = getBusinessObject(element);
  const commands = [];
  const ext = ensureExtensions(element, bo, bpmnFactory, commands);
  let props = findExtension(bo, "spiffworkflow:Properties");
  if (!props) {
    props = bpmnFactory.create("spiffworkflow:Properties", { properties: [] });
    props.$parent = ext;
    commands.push({ cmd: "element.updateModdleProperties",
      context: { element, moddleElement: ext,
        properties: { values: [...(ext.get("values") || []), props] } } });
  }
  const list = (props.get("properties") || []).filter((p) => p.name !== name);
  if (value) {
    const created = bpmnFactory.create("spiffworkflow:Property", { name, value });
    created.$parent = props;
    const old = (props.get("properties") || []).findIndex((p) => p.name === name);
    list.splice(old < 0 ? list.length : old, 0, created);
  }
  commands.push({ cmd: "element.updateModdleProperties",
    context: { element, moddleElement: props, properties: { properties: list } } });
  commandStack.execute("properties-panel.multi-command-executor", commands);
}

// ------------------------------------------------------------------ entries

function text(props) {
  const { element, id, label, description, get, set, area, validate, rows } = props;
  const debounce = useService("debounceInput");
  const services = {
    bpmnFactory: useService("bpmnFactory"),
    commandStack: useService("commandStack"),
    modeling: useService("modeling"),
  };
  return jsx(area ? TextAreaEntry : TextFieldEntry, {
    element, id, label, description, debounce, validate, rows: rows || 4, monospace: !!area,
    getValue: () => get(element) || "",
    setValue: (value) => set(element, value, services),
  });
}

function entry(id, options) {
  return {
    id,
    component: (props) => text({ ...props, id, ...options }),
    isEdited: options.area ? isTextAreaEntryEdited : isTextFieldEntryEdited,
  };
}

function bodyExtensionEntry(id, type, label, description) {
  return entry(id, {
    label, description, area: true,
    get: (el) => {
      const found = findExtension(getBusinessObject(el), type);
      return found ? found.value : "";
    },
    set: (el, value, s) => setBodyExtension(el, type, value, s.bpmnFactory, s.commandStack),
  });
}

function propertyEntry(id, name, label, options = {}) {
  return entry(id, {
    label, ...options,
    get: (el) => getProperty(getBusinessObject(el), name),
    set: (el, value, s) => setProperty(el, name, value, s.bpmnFactory, s.commandStack),
  });
}

export function checkFormSchema(value) {
  if (!value) {
    return null;
  }
  try {
    const parsed = JSON.parse(value);
    if (!parsed || typeof parsed !== "object" || parsed.type !== "object") {
      return t("formSchemaObject");
    }
  } catch (err) {
    return `${t("invalidJson")}: ${err.message}`;
  }
  return null;
}

function conditionEntry() {
  return entry("irpm-condition", {
    label: t("condition"), description: t("conditionHelp"), area: true, rows: 2,
    get: (el) => {
      const cond = getBusinessObject(el).get("conditionExpression");
      return cond ? cond.get("body") : "";
    },
    set: (el, value, s) => {
      const bo = getBusinessObject(el);
      let expr;
      if (value) {
        expr = s.bpmnFactory.create("bpmn:FormalExpression", { body: value });
        expr.$parent = bo;
      }
      s.modeling.updateModdleProperties(el, bo, { conditionExpression: expr });
    },
  });
}

function scriptEntry() {
  return entry("irpm-script", {
    label: t("script"), description: t("scriptHelp"), area: true, rows: 8,
    get: (el) => getBusinessObject(el).get("script") || "",
    set: (el, value, s) => s.modeling.updateProperties(el, { script: value || undefined,
      scriptFormat: "python" }),
  });
}

function calledElementEntry() {
  return entry("irpm-called-element", {
    label: t("calledElement"), description: t("calledElementHelp"),
    get: (el) => getBusinessObject(el).get("calledElement") || "",
    set: (el, value, s) => s.modeling.updateProperties(el, { calledElement: value || undefined }),
  });
}

function allLanes(elementRegistry) {
  return elementRegistry.filter((e) => is(e, "bpmn:Lane") && !(e.children || []).some(
    (c) => is(c, "bpmn:Lane")));
}

function lanesHolding(elementRegistry, element) {
  const bo = getBusinessObject(element);
  return elementRegistry.filter((e) => is(e, "bpmn:Lane")
    && (e.businessObject.get("flowNodeRef") || []).includes(bo));
}

function LaneEntry(props) {
  const { element } = props;
  const elementRegistry = useService("elementRegistry");
  const modeling = useService("modeling");
  return jsx(SelectEntry, {
    element, id: "irpm-lane", label: t("lane"), description: t("laneHelp"),
    getOptions: () => [{ value: "", label: t("noLane") }, ...allLanes(elementRegistry).map(
      (lane) => ({ value: lane.id, label: `${lane.businessObject.name || lane.id} (${lane.id})` }))],
    getValue: () => {
      const lane = lanesHolding(elementRegistry, element)[0];
      return lane ? lane.id : "";
    },
    setValue: (laneId) => {
      const lane = elementRegistry.get(laneId);
      if (!lane) {
        // No lane: the task names its candidate users or groups instead (the engine asks
        // the lane only when it names none).
        const bo = getBusinessObject(element);
        lanesHolding(elementRegistry, element).forEach((held) => {
          modeling.updateModdleProperties(held, held.businessObject, {
            flowNodeRef: held.businessObject.get("flowNodeRef").filter((n) => n !== bo) });
        });
        return;
      }
      // Moving the shape into the lane is what makes bpmn-js update the lane's
      // flowNodeRefs (the engine reads those), exactly as dragging it there would.
      const delta = {
        x: Math.min(Math.max(element.x, lane.x + 40), lane.x + lane.width - element.width - 10)
          - element.x,
        y: lane.y + (lane.height - element.height) / 2 - element.y,
      };
      modeling.moveShape(element, delta, lane.parent);
    },
  });
}

// ------------------------------------------------------------------ provider

function groupsFor(element) {
  const entries = [];
  if (is(element, "bpmn:SequenceFlow")) {
    const source = element.source && element.source.businessObject;
    if (source && (is(source, "bpmn:ExclusiveGateway") || is(source, "bpmn:InclusiveGateway")
        || is(source, "bpmn:Activity"))) {
      entries.push(conditionEntry());
    }
  }
  if (is(element, "bpmn:FlowNode") && !is(element, "bpmn:BoundaryEvent")
      && element.parent && (is(element.parent, "bpmn:Lane") || is(element.parent, "bpmn:Participant"))) {
    entries.push({ id: "irpm-lane", component: LaneEntry, isEdited: () => false });
  }
  if (is(element, "bpmn:ScriptTask")) {
    entries.push(scriptEntry());
  }
  if (is(element, "bpmn:BusinessRuleTask")) {
    entries.push(bodyExtensionEntry("irpm-decision", "spiffworkflow:CalledDecisionId",
      t("decision"), t("decisionHelp")));
  }
  if (is(element, "bpmn:CallActivity")) {
    entries.push(calledElementEntry());
  }
  if (is(element, "bpmn:Activity")) {
    entries.push(bodyExtensionEntry("irpm-prescript", "spiffworkflow:PreScript",
      t("preScript"), t("preScriptHelp")));
    entries.push(bodyExtensionEntry("irpm-postscript", "spiffworkflow:PostScript",
      t("postScript"), t("postScriptHelp")));
  }
  if (is(element, "bpmn:UserTask") || is(element, "bpmn:ManualTask")) {
    entries.push(propertyEntry("irpm-form", "formSchema", t("formSchema"), {
      area: true, rows: 10, description: t("formSchemaHelp"), validate: checkFormSchema }));
    entries.push(propertyEntry("irpm-form-file", "formJsonSchemaFilename", t("formFile"),
      { description: t("formFileHelp") }));
    entries.push(propertyEntry("irpm-form-ui-file", "formUiSchemaFilename", t("formUiFile"),
      { description: t("formUiFileHelp") }));
    entries.push(propertyEntry("irpm-due", "dueIn", t("dueIn"), { description: t("dueInHelp") }));
    entries.push(propertyEntry("irpm-candidate-users", "candidateUsers", t("candidateUsers"),
      { description: t("candidateHelp") }));
    entries.push(propertyEntry("irpm-candidate-groups", "candidateGroups",
      t("candidateGroups"), { description: t("candidateHelp") }));
    entries.push(propertyEntry("irpm-excludes", "excludes", t("excludes"),
      { description: t("excludesHelp") }));
  }
  if (!entries.length) {
    return [];
  }
  return [{ id: "irpm", label: t("irpmGroup"), component: Group, entries, shouldOpen: true }];
}

export default class IrpmPropertiesProvider {
  constructor(propertiesPanel) {
    propertiesPanel.registerProvider(400, this);
  }

  getGroups(element) {
    return (groups) => {
      const ours = [...groupsFor(element), ...contextGroups(element)];
      // Right after the general group (name, id), where a designer looks first.
      const at = groups.findIndex((g) => g.id === "general");
      groups.splice(at < 0 ? 0 : at + 1, 0, ...ours);
      return groups;
    };
  }
}
IrpmPropertiesProvider.$inject = ["propertiesPanel"];

export const IrpmPropertiesModule = {
  __init__: ["irpmPropertiesProvider"],
  irpmPropertiesProvider: ["type", IrpmPropertiesProvider],
};
export { SPIFF };
