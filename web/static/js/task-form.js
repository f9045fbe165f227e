// The task form's repeatable rows (web/tasks/templates/tasks/_form.html). Without this
// script the add / remove buttons post the form and the server redraws it; with it they
// act in the page: "add" clones the array's row <template> under the next free index,
// "remove" drops the row. Also warns about an evidence file over the size limit before
// it is sent.
"use strict";
(() => {
  const form = document.getElementById("task-form");
  if (!form) {
    return;
  }

  const childOf = (parent, selector) =>
    Array.from(parent.children).find((child) => child.matches(selector));

  const renumber = (array) => {
    const rows = Array.from(childOf(array, "[data-rows]").children);
    rows.forEach((row, position) => {
      const number = row.querySelector("[data-row-number]");
      if (number) {
        number.textContent = String(position + 1);
      }
    });
    const add = childOf(array, "[data-add-row]");
    const max = Number(array.dataset.max || 0);
    if (add) {
      add.disabled = max > 0 && rows.length >= max;
    }
  };

  const addRow = (array) => {
    const template = childOf(array, "template[data-row-template]");
    const rows = childOf(array, "[data-rows]");
    const index = Number(array.dataset.next || rows.children.length);
    array.dataset.next = String(index + 1);
    const html = template.innerHTML.split(array.dataset.placeholder).join(String(index));
    rows.insertAdjacentHTML("beforeend", html);
    renumber(array);
    const added = rows.lastElementChild;
    const first = added && added.querySelector("input:not([type=hidden]), select, textarea");
    if (first) {
      first.focus();
    }
  };

  form.addEventListener("click", (event) => {
    const add = event.target.closest("[data-add-row]");
    if (add && form.contains(add)) {
      event.preventDefault();
      addRow(add.closest("[data-array]"));
      return;
    }
    const remove = event.target.closest("[data-remove-row]");
    if (remove && form.contains(remove)) {
      event.preventDefault();
      const row = remove.closest("[data-row]");
      const array = row.closest("[data-array]");
      row.remove();
      renumber(array);
      const next = childOf(array, "[data-add-row]");
      if (next) {
        next.focus();
      }
    }
  });

  form.querySelectorAll("[data-array]").forEach(renumber);

  // Fields an answer asks for (the schema's if/then, web/tasks/schema_form.py): shown
  // while one of the listed siblings has its value, hidden otherwise.
  const applyConditions = () => {
    const values = new FormData(form);
    form.querySelectorAll("[data-shown-when]").forEach((wrapper) => {
      const when = JSON.parse(wrapper.dataset.shownWhen);
      wrapper.hidden = !when.some(([name, value]) => values.getAll(name).includes(value));
    });
  };
  form.addEventListener("change", applyConditions);
  applyConditions();

  const file = document.getElementById("evidence-file");
  const fileErrors = document.getElementById("evidence-errors");
  if (file && fileErrors) {
    file.addEventListener("change", () => {
      const limit = Number(file.dataset.maxBytes || 0);
      const tooLarge = limit > 0 && Array.from(file.files).some((f) => f.size > limit);
      file.classList.toggle("is-invalid", tooLarge);
      fileErrors.classList.toggle("d-block", tooLarge);
      if (tooLarge) {
        fileErrors.textContent = fileErrors.dataset.tooLarge;
        file.value = "";
      }
    });
  }
})();
