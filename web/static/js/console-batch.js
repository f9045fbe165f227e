// The batch page: while the batch is not done, show its progress. The scheduler runs the
// batch as a background job; an administrator's open page also posts one step after another
// (/console/batches/<id>/step, CSRF token in the header) — items are taken one at a time, so
// both together do nothing twice — and a viewer who may not act only polls /progress. When
// the batch is done the page reloads once to show the report.
"use strict";
(() => {
  const box = document.getElementById("batch");
  if (!box) {
    return;
  }
  const bar = box.querySelector("[data-role=bar]");
  const show = (p) => {
    box.querySelector("[data-role=done]").textContent = p.done;
    box.querySelector("[data-role=succeeded]").textContent = p.succeeded;
    box.querySelector("[data-role=failed]").textContent = p.failed;
    box.querySelector("[data-role=status]").textContent = p.status;
    bar.style.width = `${p.total ? Math.round((100 * p.done) / p.total) : 100}%`;
    box.dataset.status = p.status;
  };
  const request = (url, method) => fetch(url, {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRFToken": box.dataset.csrf },
  }).then((response) => {
    if (!response.ok) {
      throw new Error(`batch: HTTP ${response.status}`);
    }
    return response.json();
  });
  const step = () => {
    const acting = Boolean(box.dataset.step);
    request(acting ? box.dataset.step : box.dataset.progress, acting ? "POST" : "GET")
      .then((p) => {
        show(p);
        if (p.status === "done") {
          window.location.reload();
        } else {
          window.setTimeout(step, acting ? 0 : 1000);
        }
      })
      .catch(() => {
        box.dataset.status = "error";
      });
  };
  if (box.dataset.status !== "done") {
    step();
  } else {
    bar.style.width = "100%";
  }
})();
