// Live status of a submission: wait on the API (a long poll that answers as soon as it is graded
// or failed, else after 10 s with the current status) until it is done, then show the result.
(function () {
  var el = document.getElementById("status");
  if (!el) return;
  var id = el.dataset.submission;
  var status = el.dataset.status;
  if (status !== "queued" && status !== "running") return;
  function poll() {
    fetch("/api/v1/submissions/" + id + "?wait=10",
          { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) { setTimeout(poll, 3000); return; }
        if (body.status !== status) {
          status = body.status;
          el.textContent = status;
          el.dataset.status = status;
          el.className = "status status-" + status;
        }
        if (status === "queued" || status === "running") {
          setTimeout(poll, 50);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
