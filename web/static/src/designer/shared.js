// What the BPMN and DMN editors share: JSON requests with the page's CSRF token (the
// X-CSRFToken header Flask-WTF reads), the status line, the problem list, downloads.

export function csrfToken() {
  const meta = document.querySelector("meta[name=csrf-token]");
  return meta ? meta.content : "";
}

export async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin",
    headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw Object.assign(new Error(body.detail || body.message || `HTTP ${response.status}`),
      { body });
  }
  return body;
}

export async function postJson(url, payload) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json",
      "X-CSRFToken": csrfToken() },
    body: JSON.stringify(payload),
  });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, ok: response.ok, body };
}

export function showStatus(kind, message, link) {
  const box = document.getElementById("designer-status");
  if (!box) {
    return;
  }
  box.className = `alert alert-${kind} py-2`;
  box.dataset.kind = kind;
  box.textContent = message;
  if (link) {
    const a = document.createElement("a");
    a.href = link.href;
    a.textContent = link.text;
    a.className = "ms-2 alert-link";
    a.id = "designer-status-link";
    box.appendChild(a);
  }
}

export function renderProblems(problems, onPick) {
  const list = document.getElementById("problems");
  list.replaceChildren();
  list.dataset.count = String(problems.length);
  if (!problems.length) {
    const li = document.createElement("li");
    li.className = "list-group-item list-group-item-success";
    li.textContent = document.getElementById("canvas")?.dataset.msgValid
      || document.getElementById("dmn-canvas")?.dataset.msgValid || "OK";
    list.appendChild(li);
    return;
  }
  problems.forEach((problem) => {
    const li = document.createElement(problem.element && onPick ? "button" : "li");
    li.className = "list-group-item list-group-item-action list-group-item-danger text-start";
    if (li.tagName === "BUTTON") {
      li.type = "button";
      li.addEventListener("click", () => onPick(problem.element));
    }
    li.dataset.rule = problem.rule;
    if (problem.filename && problem.filename.endsWith(".json")) {
      const file = document.createElement("code");
      file.textContent = problem.filename;
      li.append(file, ": ");
    }
    if (problem.element) {
      li.dataset.element = problem.element;
      const code = document.createElement("code");
      code.textContent = problem.element;
      li.append(code, ": ");
    }
    li.append(problem.message);
    list.appendChild(li);
  });
}

export function download(filename, xml) {
  const url = URL.createObjectURL(new Blob([xml], { type: "application/xml" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function fmt(template, values) {
  return (template || "").replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

// Before a deploy: ask the server what it would touch (running instances per version, drafts
// it would keep) and, when anything, ask the user with those figures. Whether to go on.
export async function confirmDeploy(box, payload) {
  const { status, body } = await postJson(box.dataset.checkUrl, payload);
  if (status !== 200 || !body.ask) {
    return true; // a refused check is refused again, with its reasons, by the deploy itself
  }
  return window.confirm(body.message);
}
