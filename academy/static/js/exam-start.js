/* 开始考试: start through fetch so that a full server queues the candidate (503 with a
   position) and this page retries by itself, keeping the ticket. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-start]");
  if (!form || !window.fetch) return;
  var note = form.querySelector("[data-queue]");
  var button = form.querySelector("button");
  var ticket = null;
  var failures = 0;

  function say(text) { note.hidden = false; note.textContent = text; }

  function attempt() {
    var body = new URLSearchParams(new FormData(form));
    if (ticket) body.set("ticket", ticket);
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (r) {
      return r.json().then(function (data) { return { code: r.status, data: data }; });
    }).then(function (res) {
      if (res.code === 200 && res.data.redirect) { window.location.assign(res.data.redirect); return; }
      if (res.code === 503 && res.data.queued) {
        ticket = res.data.ticket;
        var wait = res.data.retry_after || 2;
        say("现在开考的人很多，您排在第 " + res.data.position + " 位，" + wait + " 秒后自动重试，请不要关闭页面。");
        setTimeout(attempt, wait * 1000);
        return;
      }
      button.disabled = false;
      say(res.data.error || "暂时不能开始，请稍后再试。");
    }).catch(function () {
      failures += 1;
      var wait = Math.min(15, 2 * failures);
      say("网络不稳定，" + wait + " 秒后自动重试…");
      setTimeout(attempt, wait * 1000);
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    button.disabled = true;
    say("正在组卷…");
    attempt();
  });
})();
