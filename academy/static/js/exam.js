/* Taking an exam: autosave every answer (debounced), keep unsent answers on the device
   until the server has them, count down from the server's deadline, submit at time-out.
   Works with academy/templates/exams/take.html; without this script the page still works
   (answers are saved when the candidate turns the page or submits). */
(function () {
  "use strict";
  var form = document.getElementById("exam-form");
  if (!form || !window.fetch) return;
  var attempt = form.dataset.attempt;
  var saveBase = form.dataset.saveUrl.replace(/0$/, "");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var statusEl = document.getElementById("save-status");
  var timers = {};
  var sending = {};
  var offline = false;
  // Unsent answers live in localStorage (they survive a crash or a closed tab), or in memory
  // where the browser has none.
  var store = (function () {
    try { var s = window.localStorage; s.setItem("exam-test", "1"); s.removeItem("exam-test"); return s; }
    catch (e) {
      var data = {};
      return {
        getItem: function (key) { return Object.prototype.hasOwnProperty.call(data, key) ? data[key] : null; },
        setItem: function (key, value) { data[key] = String(value); },
        removeItem: function (key) { delete data[key]; },
        key: function (i) { return Object.keys(data)[i]; },
        get length() { return Object.keys(data).length; }
      };
    }
  })();

  function k(pos, what) { return "exam:" + attempt + ":" + pos + ":" + what; }
  function get(pos, what) { return store.getItem(k(pos, what)); }
  function put(pos, what, value) { try { store.setItem(k(pos, what), value); } catch (e) { /* storage full */ } }
  function drop(pos, what) { store.removeItem(k(pos, what)); }
  function fieldsets() { return Array.prototype.slice.call(form.querySelectorAll("fieldset[data-position]")); }
  function fieldset(pos) { return form.querySelector('fieldset[data-position="' + pos + '"]'); }

  function status(text, cls) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.className = "save-status" + (cls ? " " + cls : "");
  }
  function qstate(fs, text, cls) {
    var el = fs && fs.querySelector("[data-state]");
    if (el) { el.textContent = text; el.className = "q-state small " + (cls || "muted"); }
  }
  function hhmm(date) {
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return two(date.getHours()) + ":" + two(date.getMinutes()) + ":" + two(date.getSeconds());
  }

  function payload(fs) {
    var params = new URLSearchParams();
    fs.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!el.name || el.disabled) return;
      if (el.name === "flag") { params.set("flag", el.checked ? "1" : "0"); return; }
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      params.append(el.name, el.value);
    });
    return params;
  }

  function nextSeq(fs) {
    var pos = fs.dataset.position;
    var seq = Math.max(parseInt(fs.dataset.seq || "0", 10), parseInt(get(pos, "seq") || "0", 10)) + 1;
    fs.dataset.seq = String(seq);
    put(pos, "seq", String(seq));
    return seq;
  }

  function save(fs) {
    var pos = fs.dataset.position;
    var body = payload(fs);
    body.set("seq", String(nextSeq(fs)));
    put(pos, "pending", body.toString());
    return send(pos);
  }

  function send(pos) {
    var body = get(pos, "pending");
    if (!body) return Promise.resolve(true);
    if (sending[pos]) return sending[pos];
    var fs = fieldset(pos);
    qstate(fs, "保存中…");
    status("保存中…");
    var sentSeq = new URLSearchParams(body).get("seq");
    sending[pos] = fetch(saveBase + pos, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: body
    }).then(function (r) {
      return r.json().then(function (data) { return { code: r.status, data: data }; });
    }).then(function (res) {
      delete sending[pos];
      if (res.code === 200) {
        var still = get(pos, "pending");
        if (still && new URLSearchParams(still).get("seq") === sentSeq) drop(pos, "pending");
        offline = false;
        var at = hhmm(new Date());
        qstate(fs, "已保存 " + at, "ok");
        status("已保存 " + at, "ok");
        if (get(pos, "pending")) return send(pos);
        return true;
      }
      if (res.code === 409 && res.data.finished) {
        drop(pos, "pending");
        status(res.data.error, "bad");
        window.location.assign(res.data.redirect);
        return false;
      }
      if (res.code === 401) {
        // Signed out (another device signed in, the account was reset): the answer stays
        // in this browser and is sent again once the candidate has signed in again.
        offline = true;
        qstate(fs, "未保存：登录已失效", "bad");
        status(res.data.error + "（答案暂存在本机）", "bad");
        return false;
      }
      if (res.code === 400 || res.code === 404) {
        drop(pos, "pending");
        qstate(fs, res.data.error || "保存失败", "bad");
        status("有一题没有保存：" + (res.data.error || ""), "bad");
        return false;
      }
      throw new Error("server " + res.code);
    }).catch(function () {
      delete sending[pos];
      offline = true;
      qstate(fs, "未保存，网络恢复后自动保存", "bad");
      status("网络中断：答案暂存在本机，恢复后自动保存", "bad");
      return false;
    });
    return sending[pos];
  }

  function pendingPositions() {
    var out = [];
    var prefix = "exam:" + attempt + ":";
    for (var i = 0; i < store.length; i++) {
      var key = store.key(i);
      if (key && key.indexOf(prefix) === 0 && /:pending$/.test(key)) out.push(key.slice(prefix.length).split(":")[0]);
    }
    return out;
  }

  function flushAll() {
    Object.keys(timers).forEach(function (pos) {
      clearTimeout(timers[pos]);
      delete timers[pos];
      var fs = fieldset(pos);
      if (fs) save(fs);
    });
    return Promise.all(pendingPositions().map(send)).then(function (results) {
      return results.every(Boolean);
    });
  }

  function schedule(fs, delay) {
    var pos = fs.dataset.position;
    clearTimeout(timers[pos]);
    qstate(fs, "有改动，稍后自动保存");
    timers[pos] = setTimeout(function () { delete timers[pos]; save(fs); }, delay);
  }

  // Answers typed before a crash or a closed tab that never reached the server: put them
  // back on the page and send them.
  function restore() {
    fieldsets().forEach(function (fs) {
      var pos = fs.dataset.position;
      var body = get(pos, "pending");
      if (!body) return;
      var params = new URLSearchParams(body);
      if (parseInt(params.get("seq") || "0", 10) <= parseInt(fs.dataset.seq || "0", 10)) { drop(pos, "pending"); return; }
      fs.querySelectorAll("input, select, textarea").forEach(function (el) {
        if (!el.name) return;
        if (el.name === "flag") { el.checked = params.get("flag") === "1"; return; }
        var values = params.getAll(el.name);
        if (el.type === "radio" || el.type === "checkbox") el.checked = values.indexOf(el.value) >= 0;
        else el.value = values.length ? values[0] : "";
      });
    });
    pendingPositions().forEach(send);
  }

  form.addEventListener("change", function (e) {
    var fs = e.target.closest("fieldset[data-position]");
    if (fs) schedule(fs, e.target.tagName === "TEXTAREA" || e.target.type === "text" ? 300 : 0);
  });
  form.addEventListener("input", function (e) {
    var fs = e.target.closest("fieldset[data-position]");
    if (fs && (e.target.tagName === "TEXTAREA" || e.target.type === "text")) schedule(fs, 1500);
  });

  // Turning pages and submitting: make sure every answer is on the server first.
  form.addEventListener("submit", function (e) {
    var button = e.submitter;
    if (!button || button.name !== "go") return;
    e.preventDefault();
    var go = button.value;
    status("保存中…");
    flushAll().then(function (ok) {
      if (!ok && offline) { status("网络中断，暂时不能翻页；答案已暂存在本机。", "bad"); return; }
      if (go === "submit") window.location.assign(form.dataset.confirmUrl);
      else window.location.assign(form.dataset.takeUrl + "?p=" + encodeURIComponent(go));
    });
  });

  window.addEventListener("beforeunload", function (e) {
    if (Object.keys(timers).length || (offline && pendingPositions().length)) {
      flushAll();
      e.preventDefault();
      e.returnValue = "";
    }
  });
  window.addEventListener("online", function () { pendingPositions().forEach(send); });
  setInterval(function () { if (pendingPositions().length) pendingPositions().forEach(send); }, 5000);

  // The countdown. The server's deadline is the truth: the page was given the seconds left
  // when it was made, and a reload asks again.
  var timer = document.getElementById("timer");
  if (timer) {
    var ends = Date.now() + parseInt(timer.dataset.seconds, 10) * 1000;
    var done = false;
    var tick = function () {
      var left = Math.max(0, Math.round((ends - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      timer.textContent = "剩余 " + m + ":" + (s < 10 ? "0" : "") + s;
      timer.classList.toggle("soon", left <= 300);
      if (left === 300 || left === 60) timer.setAttribute("aria-live", "assertive");
      if (left === 0 && !done) {
        done = true;
        status("时间到，正在交卷…", "bad");
        flushAll().then(function () { document.getElementById("timeout-form").submit(); });
      }
    };
    tick();
    setInterval(tick, 1000);
  }

  restore();
})();
