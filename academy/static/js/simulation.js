// 情景模拟: one post per step. The form data (with the pressed button) is built before the
// buttons are disabled; a second tap is blocked
// (a double tap would replay the step; the server refuses it anyway).
(function () {
  "use strict";
  var form = document.getElementById("step-form");
  if (!form) { return; }
  var sent = false;
  form.addEventListener("submit", function (ev) {
    if (sent) { ev.preventDefault(); return; }
    sent = true;
    setTimeout(function () {
      Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
    }, 0);
  });
  // Back from the browser's page cache (e.g. after a lost connection): reload to see the
  // step the server really is at.
  window.addEventListener("pageshow", function (ev) { if (ev.persisted) { window.location.reload(); } });
})();
