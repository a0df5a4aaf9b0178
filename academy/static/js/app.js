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
// Wide screens show the whole menu: open the 菜单 fold there (CSS does it too where supported).
(function () {
  "use strict";
  var more = document.querySelector("[data-nav-more]");
  if (!more || !window.matchMedia) { return; }
  var wide = window.matchMedia("(min-width: 700px)");
  function sync() { if (wide.matches) { more.open = true; } }
  sync();
  if (wide.addEventListener) { wide.addEventListener("change", sync); }
})();
// A table wider than the screen: say so above it and let the keyboard scroll it.
(function () {
  "use strict";
  var wraps = document.querySelectorAll(".table-wrap");
  Array.prototype.forEach.call(wraps, function (wrap) {
    if (wrap.scrollWidth <= wrap.clientWidth + 2) { return; }
    if (!wrap.hasAttribute("tabindex")) { wrap.setAttribute("tabindex", "0"); }
    if (!wrap.hasAttribute("role")) { wrap.setAttribute("role", "region"); }
    if (!wrap.hasAttribute("aria-label")) { wrap.setAttribute("aria-label", "表格，可左右滑动"); }
    var hint = document.createElement("p");
    hint.className = "scroll-hint";
    hint.textContent = "表格较宽，可左右滑动查看 →";
    wrap.parentNode.insertBefore(hint, wrap);
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
