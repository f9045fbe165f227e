import { translationModule } from "./translate.js";

// dmn-js's decision table in Chinese: the strings the editor shows (dmn-js asks its
// translate service for them); what is not listed stays English. English UI: unchanged.
const ZH = {
  "Hit policy": "命中策略", "Hit policy:": "命中策略:", "When": "当", "And": "且", "Then": "则",
  "Annotations": "注释", "Annotation": "注释", "View DRD": "查看 DRD",
  "Add rule": "添加规则", "Add rule above": "在上方添加规则", "Add rule below": "在下方添加规则",
  "Add input": "添加输入", "Add output": "添加输出",
  "Add input column left": "在左侧添加输入列", "Add input column right": "在右侧添加输入列",
  "Add output column left": "在左侧添加输出列", "Add output column right": "在右侧添加输出列",
  "Copy rule": "复制规则", "Cut rule": "剪切规则", "Edit": "编辑", "Edit input": "编辑输入",
  "Edit output": "编辑输出", "Edit string": "编辑字符串", "Edit number": "编辑数字",
  "Edit boolean": "编辑布尔值", "Boolean value": "布尔值", "Decision name": "决策名称",
  "Decision name: ": "决策名称:", "Definition ID": "定义编号", "Definition name": "定义名称",
  "Add cell description": "添加单元格说明", "Add values": "添加值",
  "Add predefined values": "添加预定义值", "Clear predefined values": "清除预定义值",
};

export function dmnTranslateModule(lang) {
  return translationModule(ZH, lang);
}
