// Skein's optional script. Every page works without it; with it, copy
// buttons copy a fediverse address and "Quote" fills the reply box
// without reloading the page.
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
