// Behind a CDN a post page is shared by every reader for a while, and so is the timing token
// in its comment form. When a reader starts writing, this asks Folio (past the CDN: the answer
// is never stored) for a token of their own, so the form's timing check measures them. Without
// JavaScript the page's own token is used.
(function () {
  "use strict";
  var form = document.querySelector("form[data-fresh-token]");
  if (!form) { return; }
  var asked = false;
  function ask() {
    if (asked) { return; }
    asked = true;
    fetch(form.getAttribute("data-fresh-token"), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (token) {
        var field = form.querySelector("input[name=token]");
        if (field && token) { field.value = token.trim(); }
      })
      .catch(function () { asked = false; });
  }
  form.addEventListener("focusin", ask);
  form.addEventListener("input", ask);
})();
