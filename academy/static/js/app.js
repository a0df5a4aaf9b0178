// Small, dependency-free behaviours shared by every page.
(function () {
  "use strict";
  var toggle = document.getElementById("large-type-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var on = !document.documentElement.classList.contains("large-type");
      document.documentElement.classList.toggle("large-type", on);
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      // Kept for a year so the next visit, on any page, renders large at once.
      document.cookie = "large_type=" + (on ? "1" : "0") + "; path=/; max-age=31536000; SameSite=Lax";
    });
  }
  document.addEventListener("submit", function (ev) {
    var btn = ev.submitter || ev.target.querySelector("[data-confirm]");
    var msg = btn && btn.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  });
})();
// Arriving at a result (e.g. "#check-result" after 交卷): scroll there and move focus to it,
// so the result is what the learner sees and what a screen reader reads first.
(function () {
  "use strict";
  var id = window.location.hash.slice(1);
  var target = id && document.getElementById(id);
  if (target && target.getAttribute("tabindex") === "-1") {
    target.focus();
    target.scrollIntoView({ block: "center" });
  }
})();
