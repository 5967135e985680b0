// Skein's optional script. Every page works without it; with it, copy
// buttons copy a fediverse address, "Quote" fills the reply box without
// reloading the page, and composers keep a draft and preview live.
(function () {
  "use strict";

  function copyFallback(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "sr-only";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    ta.remove();
    return ok;
  }

  // <button data-copy="ID" hidden> copies the text of element ID.
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    var src = document.getElementById(b.dataset.copy);
    if (!src) return;
    var label = b.textContent;
    b.hidden = false;
    b.setAttribute("aria-live", "polite");
    b.addEventListener("click", function () {
      var text = src.textContent.trim();
      var done = function () {
        b.textContent = "Copied";
        setTimeout(function () { b.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { if (copyFallback(text)) done(); });
      } else if (copyFallback(text)) {
        done();
      }
    });
  });

  // Composers: the text is saved in this browser while typing (a closed
  // tab or a crash loses nothing) and previewed live. The server keeps
  // a form it could not post on its own; this is the extra for the rest.
  document.querySelectorAll("form.composer").forEach(function (f) {
    var key = "skein-draft:" + f.dataset.draft;
    var fields = ["title", "body", "summary"].map(function (n) { return f.querySelector("[name=" + n + "]"); })
      .filter(function (el) { return el; });
    var text = f.querySelector("textarea[name=body]");
    var store = null;
    try { store = window.localStorage; } catch (e) { /* storage off: no drafts */ }
    if (store && !f.querySelector(".form-error") && !text.value.trim()) {
      try {
        var saved = JSON.parse(store.getItem(key) || "null");
        if (saved && saved.body) {
          fields.forEach(function (el) { if (saved[el.name]) el.value = saved[el.name]; });
          var note = document.createElement("p");
          note.className = "hint draft-note";
          note.textContent = "Your unsent draft from this browser is back.";
          text.parentNode.insertBefore(note, text);
        }
      } catch (e) { store.removeItem(key); }
    }
    var pane = f.querySelector(".preview");
    var paneBody = pane && pane.querySelector(".body");
    var timer = null, sent = "";
    function refresh() {
      var v = {};
      fields.forEach(function (el) { v[el.name] = el.value; });
      if (store) {
        try { if (v.body.trim()) store.setItem(key, JSON.stringify(v)); else store.removeItem(key); } catch (e) { /* full */ }
      }
      if (!pane || !f.dataset.preview || v.body === sent) return;
      sent = v.body;
      if (!v.body.trim()) { pane.hidden = true; return; }
      fetch(f.dataset.preview, { method: "POST", credentials: "same-origin", body: new URLSearchParams({ body: v.body }) })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) { paneBody.innerHTML = html; pane.hidden = false; }) // sanitized by the server
        .catch(function () { /* the Preview button still works */ });
    }
    f.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 400); });

    // Images dropped on the composer, or picked, are sent at once and come
    // back with a field for their alt text; the text typed goes along.
    var files = f.querySelector("input[type=file][name=images]");
    var attach = f.querySelector("button[name=upload]");
    if (files && attach && window.DataTransfer) {
      var box = files.closest("fieldset") || f;
      var send = function () { if (files.files.length) f.requestSubmit(attach); };
      files.addEventListener("change", send);
      f.addEventListener("dragover", function (ev) {
        if (ev.dataTransfer && Array.prototype.indexOf.call(ev.dataTransfer.types, "Files") >= 0) {
          ev.preventDefault();
          box.classList.add("dragging");
        }
      });
      f.addEventListener("dragleave", function () { box.classList.remove("dragging"); });
      f.addEventListener("drop", function (ev) {
        if (!ev.dataTransfer || !ev.dataTransfer.files.length) return;
        ev.preventDefault();
        box.classList.remove("dragging");
        var dt = new DataTransfer();
        Array.prototype.forEach.call(ev.dataTransfer.files, function (file) {
          if (/^image\//.test(file.type)) dt.items.add(file);
        });
        files.files = dt.files;
        send();
      });
    }
    f.addEventListener("submit", function (ev) {
      var b = ev.submitter;
      if (store && !(b && (b.name === "preview" || b.name === "upload"))) store.removeItem(key);
    });
  });

  // Times: the server writes them in UTC (a cached page is right for
  // everyone); here they become the reader's time zone, and recent ones
  // say how long ago. The exact moment stays in the tooltip.
  var rel = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;
  var local = window.Intl ? new Intl.DateTimeFormat(undefined, { dateStyle: "long", timeStyle: "short" }) : null;
  function ago(ms) {
    var s = Math.round(ms / 1000), m = Math.round(s / 60), h = Math.round(m / 60);
    if (s < 60) return rel.format(-s, "second");
    if (m < 60) return rel.format(-m, "minute");
    if (h < 24) return rel.format(-h, "hour");
    return null;
  }
  function times() {
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var t = new Date(el.getAttribute("datetime"));
      if (isNaN(t) || !local || !/UTC$/.test(el.dataset.utc || el.textContent)) return;
      if (!el.dataset.utc) el.dataset.utc = el.textContent;
      var full = local.format(t);
      el.title = full;
      var d = Date.now() - t.getTime();
      el.textContent = (rel && d >= 0 && ago(d)) || full;
    });
  }
  times();
  setInterval(times, 60000);

  // "Quote" links fetch the post's quotation into the reply box.
  var form = document.getElementById("reply-form");
  if (!form) return;
  var body = form.querySelector("textarea[name=body]");
  var quoteID = form.querySelector("input[name=quote_id]");
  var summary = form.querySelector("input[name=summary]");
  document.querySelectorAll("a.quote-link[data-quote]").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      fetch(a.dataset.quote, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (text) {
          var typed = body.value.trim();
          if (!typed) quoteID.value = a.dataset.post; // the cite goes to the quotation the reply opens with
          // A quotation of a post behind a warning keeps the warning.
          if (a.dataset.warning && summary && !summary.value.trim()) summary.value = a.dataset.warning;
          body.value = (typed ? typed + "\n\n" : "") + text;
          body.focus();
          body.setSelectionRange(body.value.length, body.value.length);
          body.scrollIntoView({ block: "center" });
        })
        .catch(function () { location.href = a.href; });
    });
  });
})();
