// The theme page's live preview: the form is sent to the preview frame as it changes (the
// Preview button opens a new tab without this script). Nothing is saved until "Save theme".
(function () {
  "use strict";
  var form = document.getElementById("theme-form");
  var live = document.getElementById("theme-live");
  var button = document.getElementById("theme-preview-button");
  if (!form || !live || !button || !form.requestSubmit) return;
  live.hidden = false;
  button.setAttribute("formtarget", "theme-preview");
  var timer = null;
  function refresh() {
    timer = null;
    form.requestSubmit(button);
  }
  function later() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, 700);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  refresh();
})();
