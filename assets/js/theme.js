// The theme page's live preview: as the form changes, its fields are sent as a preview and the
// answer (the home page in that look, or why it cannot be shown) is put in the frame beside
// it, without adding to the browser's history. Without this script the Preview button opens
// the same page in a new tab. Nothing is saved until "Save theme".
(function () {
  "use strict";
  var form = document.getElementById("theme-form");
  var live = document.getElementById("theme-live");
  var frame = document.getElementById("theme-preview");
  if (!form || !live || !frame || !window.fetch || !window.FormData || !window.URLSearchParams) {
    return;
  }
  live.hidden = false;
  var timer = null;
  var sent = 0;
  function refresh() {
    timer = null;
    var fields = new URLSearchParams(new FormData(form));
    fields.set("action", "preview");
    var mine = ++sent;
    // getAttribute: `form.action` is the button named "action".
    fetch(form.getAttribute("action"), { method: "POST", body: fields, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        // Only the answer to the latest change is shown.
        if (mine === sent) frame.srcdoc = html;
      })
      .catch(function () { /* the next change tries again */ });
  }
  function later() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, 600);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  refresh();
})();
