// 一村社一手册: the print button (no inline script: the CSP forbids it).
(function () {
  "use strict";
  var button = document.getElementById("print-button");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
})();
