// Live status of a submission: poll the API until it is graded (or failed), then show the result.
(function () {
  var el = document.getElementById("status");
  if (!el) return;
  var id = el.dataset.submission;
  var status = el.dataset.status;
  if (status !== "queued" && status !== "running") return;
  var delay = 400;
  function poll() {
    fetch("/api/v1/submissions/" + id, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body && body.status !== status) {
          status = body.status;
          el.textContent = status;
          el.dataset.status = status;
          el.className = "status status-" + status;
        }
        if (status === "queued" || status === "running") {
          delay = Math.min(delay * 1.3, 3000);
          setTimeout(poll, delay);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, delay);
})();
