/* Marking a candidate at the venue: every change is saved as a draft in the background;
   while the venue's Wi-Fi is down the marks wait on the device (localStorage) and are sent
   when it is back, oldest never over newest (a sequence number per save). Submitting while
   offline is kept too and sent on reconnection. Without this script the form still posts. */
(function () {
  "use strict";
  var form = document.getElementById("mark-form");
  if (!form || !window.fetch || form.querySelector("fieldset[disabled]")) return;
  var key = form.dataset.key;
  var statusEl = document.getElementById("save-status");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var timer = null;
  var busy = false;
  var store;
  try { store = window.localStorage; store.setItem(key + ":t", "1"); store.removeItem(key + ":t"); }
  catch (e) { var mem = {}; store = { getItem: function (k) { return mem[k] || null; }, setItem: function (k, v) { mem[k] = String(v); }, removeItem: function (k) { delete mem[k]; } }; }

  function status(text, cls) { if (statusEl) { statusEl.textContent = text; statusEl.className = "save-status " + (cls || ""); } }
  function seq() {
    var n = Math.max(parseInt(form.dataset.seq || "0", 10), parseInt(store.getItem(key + ":seq") || "0", 10)) + 1;
    form.dataset.seq = String(n); store.setItem(key + ":seq", String(n)); return n;
  }
  function body(submit) {
    var p = new URLSearchParams();
    form.querySelectorAll("input, textarea").forEach(function (el) {
      if (!el.name || el.name === "csrf_token" || el.name === "seq") return;
      if (el.type === "radio" && !el.checked) return;
      p.append(el.name, el.value);
    });
    p.set("seq", String(seq()));
    p.set("submit", submit ? "1" : "0");
    return p.toString();
  }
  function queue(submit) {
    var b = body(submit);
    store.setItem(key + ":pending", b);
    store.setItem(key + ":last", b);  // what the device holds, kept after it is sent
    send();
  }
  function send() {
    var pending = store.getItem(key + ":pending");
    if (!pending || busy) return;
    busy = true;
    status("正在保存…");
    fetch(form.action || window.location.href, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json", "X-CSRFToken": csrf },
      body: pending
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    }).then(function (res) {
      busy = false;
      if (store.getItem(key + ":pending") !== pending) { send(); return; }  // newer change queued
      store.removeItem(key + ":pending");
      if (!res.ok) { status(res.data.error || "保存失败", "error"); return; }
      if (res.data.submitted) { window.location.reload(); return; }
      var t = new Date();
      status("已保存 " + t.toTimeString().slice(0, 8), "ok");
    }).catch(function () {
      busy = false;
      status("网络中断：评分已存在本机，联网后自动发送", "warn");
    });
  }
  // Restore a draft that never reached the server (closed tab, dead battery).
  var saved = store.getItem(key + ":pending");
  // A reload racing the send on reconnection can render the sheet from before that send
  // landed (its seq is older than the device's last change): show the device's marks
  // again, and send them once more (the server ignores them if it has them already).
  var last = store.getItem(key + ":last");
  if (!saved && last && parseInt(new URLSearchParams(last).get("seq") || "0", 10) > parseInt(form.dataset.seq || "0", 10)) {
    saved = last;
    store.setItem(key + ":pending", last);
  }
  if (saved) {
    new URLSearchParams(saved).forEach(function (value, name) {
      if (name === "submit" || name === "seq") return;  // not the buttons' values
      form.querySelectorAll('[name="' + name + '"]').forEach(function (el) {
        if (el.type === "radio") el.checked = el.value === value; else el.value = value;
      });
    });
    status("有未发送的评分，正在发送…", "warn");
    send();
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(function () { queue(false); }, 600); });
  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(function () { queue(false); }, 200); });
  form.addEventListener("submit", function (ev) {
    var submitter = ev.submitter || document.activeElement;
    var submit = submitter && submitter.name === "submit" && submitter.value === "1";
    if (submit && form.querySelectorAll("fieldset").length) {
      var missing = Array.prototype.some.call(form.querySelectorAll("fieldset.criterion"), function (fs) {
        var radios = fs.querySelectorAll("input[type=radio]");
        if (radios.length) return !fs.querySelector("input[type=radio]:checked");
        var num = fs.querySelector("input[type=number]");
        return num && num.value === "";
      });
      if (missing) { ev.preventDefault(); ev.stopPropagation(); status("还有指标没有评分", "error"); return; }
    }
    ev.preventDefault();
    ev.stopPropagation();  // the confirmation is asked here, not again by app.js
    var msg = submitter && submitter.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) return;
    clearTimeout(timer);
    queue(submit);
  });
  window.addEventListener("online", send);
  setInterval(send, 5000);
})();
