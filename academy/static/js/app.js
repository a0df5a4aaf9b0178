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
