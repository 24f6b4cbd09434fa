// The import job page: poll the job's progress.json every second, move the <progress> bar and
// the rows · rows/s · time-left line, and reload the page once the job has finished (the
// server then renders the outcome). Loaded as a file: the site's CSP allows no inline script.
(function () {
  "use strict";
  var section = document.getElementById("import-progress");
  if (!section) {
    return;
  }
  var url = section.getAttribute("data-progress-url");
  var bar = document.getElementById("import-bar");
  var text = document.getElementById("import-progress-text");
  var status = document.getElementById("import-status");
  var INTERVAL_MS = 1000;

  function show(data) {
    if (typeof data.fraction === "number") {
      bar.value = data.fraction;
    } else {
      bar.removeAttribute("value"); // indeterminate: the importer does not tell the fraction
    }
    text.textContent = data.text;
    if (status && data.status) {
      status.setAttribute("data-status", data.status);
      status.textContent = data.status_label;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("progress " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (data.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, INTERVAL_MS);
        }
      })
      .catch(function () {
        // A busy or restarting server: try again; the job page stays as it was.
        window.setTimeout(poll, INTERVAL_MS * 2);
      });
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
