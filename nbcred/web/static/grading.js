// Keyboard shortcuts of the manual-grading page (a static file: no inline script under the CSP).
// j / k: next / previous submission waiting; g: first score field; Ctrl+Enter: save the grade
// being edited; ?: move to the list of shortcuts. Letters are ignored while typing in a field.
(function () {
  "use strict";
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  function follow(id) {
    var link = document.getElementById(id);
    if (link) { window.location.href = link.href; }
  }
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      var form = event.target && event.target.form;
      if (form) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (event.key === "j") { follow("next-submission"); }
    else if (event.key === "k") { follow("previous-submission"); }
    else if (event.key === "g") {
      var score = document.querySelector("form.manual-cell input[name=score]");
      if (score) { event.preventDefault(); score.focus(); }
    } else if (event.key === "?") {
      var help = document.getElementById("shortcuts");
      if (help) { help.focus(); help.scrollIntoView({block: "nearest"}); }
    }
  });
})();
