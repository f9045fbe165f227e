// bpmn-js and its properties panel in Chinese: their translate service, replaced by one
// that looks the English text up here (what is not listed stays English).
const ZH = {
  // palette
  "Activate hand tool": "抓手工具", "Activate lasso tool": "套索工具",
  "Activate create/remove space tool": "插入/删除空间", "Activate global connect tool": "连线工具",
  "Create start event": "开始事件", "Create intermediate/boundary event": "中间/边界事件",
  "Create end event": "结束事件", "Create gateway": "网关", "Create task": "任务",
  "Create expanded sub-process": "展开的子流程", "Create data object reference": "数据对象",
  "Create data store reference": "数据存储", "Create pool/participant": "池/参与者",
  "Create group": "分组",
  // context pad
  "Append end event": "追加结束事件", "Append gateway": "追加网关", "Append task": "追加任务",
  "Append intermediate/boundary event": "追加中间/边界事件",
  "Append timer intermediate catch event": "追加定时中间事件",
  "Append message intermediate catch event": "追加消息中间事件",
  "Append text annotation": "追加文字注释", "Add text annotation": "添加文字注释",
  "Change element": "更改类型", "Delete": "删除", "Connect to other element": "连接到其他元素",
  "Connect using association": "用关联连接", "Add lane above": "在上方添加泳道",
  "Add lane below": "在下方添加泳道", "Divide into two lanes": "分为两个泳道",
  "Divide into three lanes": "分为三个泳道",
  // replace menu
  "Task": "任务", "User task": "用户任务", "Service task": "服务任务", "Script task": "脚本任务",
  "Business rule task": "业务规则任务", "Manual task": "手工任务", "Send task": "发送任务",
  "Receive task": "接收任务", "Call activity": "调用活动",
  "Sub-process (collapsed)": "子流程(折叠)", "Sub-process (expanded)": "子流程(展开)",
  "Exclusive gateway": "排他网关", "Parallel gateway": "并行网关", "Inclusive gateway": "包容网关",
  "Event-based gateway": "事件网关", "Complex gateway": "复杂网关",
  "Start event": "开始事件", "End event": "结束事件", "Terminate end event": "终止结束事件",
  "Intermediate throw event": "中间抛出事件", "Timer start event": "定时开始事件",
  "Timer intermediate catch event": "定时中间捕获事件", "Timer boundary event": "定时边界事件",
  "Timer boundary event (non-interrupting)": "定时边界事件(非中断)",
  "Message start event": "消息开始事件", "Message intermediate catch event": "消息中间捕获事件",
  "Message boundary event": "消息边界事件", "Sequence flow": "顺序流", "Default flow": "默认流",
  "Conditional flow": "条件流", "Loop": "循环", "Parallel multi-instance": "并行多实例",
  "Sequential multi-instance": "串行多实例",
  // properties panel header: the element's type ("User Task", shown upper-cased)
  "User Task": "用户任务", "Service Task": "服务任务", "Script Task": "脚本任务",
  "Business Rule Task": "业务规则任务", "Manual Task": "手工任务", "Send Task": "发送任务",
  "Receive Task": "接收任务", "Call Activity": "调用活动", "Start Event": "开始事件",
  "End Event": "结束事件", "Exclusive Gateway": "排他网关", "Parallel Gateway": "并行网关",
  "Inclusive Gateway": "包容网关", "Event Based Gateway": "事件网关",
  "Sequence Flow": "顺序流", "Default Flow": "默认流", "Conditional Flow": "条件流",
  "Process": "流程", "Lane": "泳道", "Participant": "参与者",
  "Timer Start Event": "定时开始事件", "Timer Intermediate Catch Event": "定时中间捕获事件",
  "Timer Boundary Event": "定时边界事件",
  "Timer Boundary Event (Non Interrupting)": "定时边界事件(非中断)",
  "Message Start Event": "消息开始事件", "Terminate End Event": "终止结束事件",
  "Intermediate Throw Event": "中间抛出事件", "Collapsed Sub Process": "子流程(折叠)",
  "Expanded Sub Process": "子流程(展开)", "Text Annotation": "文字注释",
  // properties panel
  "General": "常规", "Name": "名称", "ID": "编号", "Documentation": "说明",
  "Element documentation": "元素说明", "Process documentation": "流程说明",
  "Process name": "流程名称", "Process ID": "流程编号", "Participant Name": "参与者名称",
  "Executable": "可执行", "Timer": "定时器", "Type": "类型", "Value": "值", "Date": "日期",
  "Duration": "期间", "Cycle": "周期", "<none>": "<无>", "Message": "消息",
  "Multi-instance": "多实例", "Select an element to edit its properties.": "选择一个元素以编辑其属性。",
  "Multiple elements are selected. Select a single element to edit its properties.":
    "选择了多个元素。请只选择一个元素以编辑其属性。",
  "ID must be unique.": "编号必须唯一。", "ID must not be empty.": "编号不能为空。",
  "ID must not contain spaces.": "编号不能包含空格。", "ID must be a valid QName.": "编号必须是有效的 QName。",
};

// A translate service over ``zh`` (when the UI is Chinese; English otherwise), as bpmn-js
// and dmn-js ask for it: the template looked up, then its {placeholders} filled.
export function translationModule(zh, lang) {
  const table = lang === "zh" ? zh : {};
  const translate = (template, replacements) => {
    const values = replacements || {};
    return (table[template] || template).replace(/{([^}]+)}/g,
      (_, key) => (key in values ? values[key] : `{${key}}`));
  };
  return { translate: ["value", translate] };
}

export function translateModule(lang) {
  return translationModule(ZH, lang);
}
