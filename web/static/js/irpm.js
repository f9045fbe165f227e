// IRPM's own scripts: progressive enhancement only (every page works without JavaScript).
"use strict";
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.requestSubmit());
});
