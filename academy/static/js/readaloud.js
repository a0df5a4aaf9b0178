// 语音阅读: reads a module section aloud with the browser's zh-CN speech synthesis.
(function () {
  "use strict";
  var buttons = Array.prototype.slice.call(document.querySelectorAll("[data-read]"));
  if (!buttons.length) { return; }
  var synth = window.speechSynthesis;
  var bar = document.getElementById("readaloud-bar");
  var status = document.getElementById("readaloud-status");
  var pauseBtn = document.getElementById("readaloud-pause");
  var stopBtn = document.getElementById("readaloud-stop");
  var current = null;

  var note = document.getElementById("readaloud-note");
  // Without speech the buttons go away and the page says why once (not once per section,
  // and never squeezed beside a heading in large type).
  function unsupported(message) {
    buttons.forEach(function (b) { b.disabled = true; b.hidden = true; });
    if (note) { note.textContent = message; note.hidden = false; }
  }
  function supported() {
    buttons.forEach(function (b) { b.disabled = false; b.hidden = false; });
    if (note) { note.hidden = true; note.textContent = ""; }
  }
  if (!synth || typeof window.SpeechSynthesisUtterance === "undefined") {
    unsupported("本浏览器不支持朗读，各节的「朗读」按钮已隐藏。");
    return;
  }
  function chineseVoice() {
    var voices = synth.getVoices() || [];
    return voices.filter(function (v) { return /^zh(-|_)?(CN|Hans)?/i.test(v.lang); })[0] || null;
  }
  // Voices load asynchronously: decide once the list has arrived (or after a short wait),
  // and change our mind if a Chinese voice turns up later.
  function checkVoices() {
    if (chineseVoice()) { supported(); } else { unsupported("本机没有安装中文语音，暂时无法朗读；各节的「朗读」按钮已隐藏。"); }
  }
  if (synth.onvoiceschanged !== undefined) { synth.onvoiceschanged = checkVoices; }
  setTimeout(checkVoices, 1500);

  function textOf(selector) {
    var node = document.querySelector(selector);
    if (!node) { return ""; }
    var clone = node.cloneNode(true);
    Array.prototype.forEach.call(clone.querySelectorAll("button, select, input, [data-noread]"), function (n) { n.remove(); });
    return clone.textContent.replace(/\s+/g, " ").trim();
  }
  function reset() {
    buttons.forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
    if (bar) { bar.hidden = true; }
    current = null;
  }
  function speak(button) {
    synth.cancel();
    var utterance = new SpeechSynthesisUtterance(textOf(button.getAttribute("data-read")));
    utterance.lang = "zh-CN";
    utterance.rate = 0.9; // a little slower for older listeners
    var voice = chineseVoice();
    if (voice) { utterance.voice = voice; }
    utterance.onend = reset;
    utterance.onerror = reset;
    current = button;
    button.setAttribute("aria-pressed", "true");
    if (bar) { bar.hidden = false; }
    if (status) { status.textContent = "正在朗读…"; }
    if (pauseBtn) { pauseBtn.textContent = "暂停"; }
    synth.speak(utterance);
  }
  buttons.forEach(function (b) {
    b.addEventListener("click", function () {
      if (current === b) { synth.cancel(); reset(); } else { speak(b); }
    });
  });
  if (pauseBtn) {
    pauseBtn.addEventListener("click", function () {
      if (synth.paused) { synth.resume(); pauseBtn.textContent = "暂停"; status.textContent = "正在朗读…"; }
      else { synth.pause(); pauseBtn.textContent = "继续"; status.textContent = "已暂停"; }
    });
  }
  if (stopBtn) { stopBtn.addEventListener("click", function () { synth.cancel(); reset(); }); }

  var resume = document.getElementById("resume");
  if (resume && !window.location.hash) {
    var target = document.getElementById(resume.getAttribute("data-section"));
    if (target) { target.scrollIntoView(); }
  }
})();
