// The job page: while the background job is queued or running, read its progress from the
// API (GET /api/v1/jobs/<id>) once a second and show it; stop once it is done or failed.
"use strict";
(() => {
  const box = document.getElementById("job");
  if (!box) {
    return;
  }
  const role = (name) => box.querySelector(`[data-role=${name}]`);
  const bar = role("bar");
  const status = role("status");
  const show = (job) => {
    role("done").textContent = job.done;
    role("total").textContent = job.total;
    status.textContent = status.dataset[`status${job.status[0].toUpperCase()}${job.status.slice(1)}`] || job.status;
    const started = role("started");
    started.textContent = started.dataset.template.replace("{n}", (job.result || {}).instances_started || 0);
    bar.style.width = `${job.percent}%`;
    bar.parentElement.setAttribute("aria-valuenow", job.percent);
    if (job.error) {
      role("error").textContent = job.error;
      role("error").hidden = false;
    }
    box.dataset.status = job.status;
  };
  const finished = () => ["done", "failed"].includes(box.dataset.status);
  const poll = () => {
    fetch(box.dataset.progress, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => {
        if (!response.ok) {
          throw new Error(`job: HTTP ${response.status}`);
        }
        return response.json();
      })
      .then((job) => {
        show(job);
        if (finished()) {
          bar.classList.remove("progress-bar-animated");
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(() => {
        box.dataset.status = "error";
      });
  };
  bar.style.width = `${bar.parentElement.getAttribute("aria-valuenow")}%`;
  if (!finished()) {
    poll();
  }
})();
