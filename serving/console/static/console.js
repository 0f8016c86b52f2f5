// divert review console: keyboard shortcuts and the help panel. No inline script (strict CSP).
(function () {
  "use strict";
  function typing(el) {
    return el && (el.tagName === "INPUT" && el.type !== "checkbox" || el.tagName === "TEXTAREA" ||
                  el.tagName === "SELECT" || el.isContentEditable);
  }
  function toggleHelp(force) {
    var help = document.getElementById("help");
    if (help) { help.hidden = force === undefined ? !help.hidden : !force; }
  }
  function press(id) {
    var button = document.getElementById(id);
    var form = document.getElementById("review-form");
    if (button && form) { form.requestSubmit(button); return true; }
    return false;
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-help-toggle]")) { toggleHelp(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape") {
      toggleHelp(false);
      if (typing(document.activeElement)) { document.activeElement.blur(); }
      return;
    }
    if (typing(event.target)) { return; }
    var key = event.key;
    var handled = false;
    if (key === "?") { toggleHelp(); handled = true; }
    else if (key === "a") { handled = press("agree"); }
    else if (key === "d") { handled = press("disagree"); }
    else if (key === "n") {
      var next = document.getElementById("next");
      if (next) { window.location.assign(next.href); handled = true; }
    } else if (key === "q") { window.location.assign("/console/queue"); handled = true; }
    else if (key === "c") {
      var comment = document.getElementById("comment");
      if (comment) { comment.focus(); handled = true; }
    } else if (/^[1-9]$/.test(key)) {
      var box = document.getElementById("label-" + key);
      if (box) { box.checked = !box.checked; handled = true; }
    }
    if (handled) { event.preventDefault(); }
  });
})();
