// Upload with progress for the roster import (no inline JS: the CSP forbids it).
// The form still works without JavaScript: this only sends the same POST with
// XMLHttpRequest so that the upload can show a progress bar and a "checking" state,
// then shows the page the server answered with.
(function () {
  "use strict";

  function busy(form, message) {
    var status = form.querySelector(".upload-status");
    if (status) { status.textContent = message; }
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
  }

  // Confirmation: a plain POST; only say that it is working.
  var confirmForm = document.querySelector("form[data-busy]");
  if (confirmForm) {
    confirmForm.addEventListener("submit", function () {
      // Let the submission start before the button is disabled.
      window.setTimeout(function () { busy(confirmForm, confirmForm.getAttribute("data-busy")); }, 0);
    });
  }

  var form = document.querySelector("form[data-upload]");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var box = form.querySelector(".upload-progress");
  var bar = box && box.querySelector("progress");
  var status = form.querySelector(".upload-status");
  var button = form.querySelector("button[type=submit]");
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;

  function reset(message) {
    if (box) { box.hidden = !message; }
    if (bar) { bar.value = 0; }
    if (status) { status.textContent = message || ""; }
    if (button) { button.disabled = false; }
  }

  function show(html, url) {
    document.open();
    document.write(html);
    document.close();
    if (url && window.history && window.history.replaceState) {
      window.history.replaceState(null, "", url);
    }
    window.scrollTo(0, 0);
  }

  form.addEventListener("submit", function (ev) {
    var input = form.querySelector("input[type=file]");
    var file = input && input.files && input.files[0];
    if (!file) { return; } // the server answers "请选择文件"
    ev.preventDefault();
    if (maxBytes && file.size > maxBytes) {
      reset(form.getAttribute("data-too-big"));
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable || !bar) { return; }
      var pct = Math.round((e.loaded / e.total) * 100);
      bar.value = pct;
      status.textContent = "正在上传… " + pct + "%";
    });
    xhr.upload.addEventListener("load", function () {
      if (bar) { bar.removeAttribute("value"); } // indeterminate while the server checks
      status.textContent = "已上传，正在校验…（大文件需要十几秒，请不要关闭页面）";
    });
    xhr.addEventListener("load", function () {
      var type = xhr.getResponseHeader("Content-Type") || "";
      if (type.indexOf("text/html") === 0) {
        var url = xhr.responseURL && xhr.responseURL !== form.action ? xhr.responseURL : null;
        show(xhr.responseText, url);
      } else {
        reset("服务器返回了无法显示的内容，请刷新页面后重试。");
      }
    });
    xhr.addEventListener("error", function () {
      reset("上传失败，请检查网络后重试。");
    });
    xhr.addEventListener("abort", function () { reset(""); });
    if (box) { box.hidden = false; }
    busy(form, "正在上传…");
    xhr.send(new FormData(form));
  });
})();
