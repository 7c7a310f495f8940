// Keeps an import's progress page current without reloading the whole page (a meta refresh
// cannot be paused by the reader). Without JavaScript the page asks to be reloaded.
(function () {
  "use strict";
  var delay = 2000;
  function tick() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("import-job");
        var current = document.getElementById("import-job");
        if (next && current) { current.replaceWith(next); }
        if (next && next.querySelector("[data-import-running]")) { setTimeout(tick, delay); }
      })
      .catch(function () { setTimeout(tick, delay * 3); });
  }
  if (document.querySelector("[data-import-running]")) { setTimeout(tick, delay); }
})();
