// The post editor's helpers. The form works without them; with them the editor gets a toolbar
// and shortcuts, a live preview rendered by the server's own publishing function, autosave into
// the server's slot for this post and user, a warning before leaving unsaved work, and images by
// drag and drop, paste or a picker.
(function () {
  "use strict";
  var form = document.getElementById("post-editor");
  var body = document.getElementById("post-body");
  if (!form || !body || !window.fetch) { return; }
  var slot = form.getAttribute("data-slot");
  var csrf = form.elements.csrf.value;
  var words = document.getElementById("post-words");

  // ---- Status line (autosave and uploads), read out politely by screen readers ----
  var status = document.createElement("p");
  status.className = "hint editor-status";
  status.id = "editor-status";
  status.setAttribute("role", "status");
  words.parentNode.insertBefore(status, words.nextSibling);
  function say(text, warn) {
    status.textContent = text;
    status.classList.toggle("warning", !!warn);
  }

  // ---- Editing the text (keeps the browser's undo where it can) ----
  function replaceRange(start, end, text, selectFrom, selectTo) {
    body.focus();
    body.setSelectionRange(start, end);
    if (!document.execCommand || !document.execCommand("insertText", false, text)) {
      body.setRangeText(text, start, end, "end");
      body.dispatchEvent(new Event("input", { bubbles: true }));
    }
    if (selectFrom !== undefined) {
      body.setSelectionRange(start + selectFrom, start + (selectTo === undefined ? selectFrom : selectTo));
    }
  }
  function wrap(before, after, placeholder) {
    var start = body.selectionStart, end = body.selectionEnd;
    var chosen = body.value.slice(start, end) || placeholder;
    replaceRange(start, end, before + chosen + after, before.length, before.length + chosen.length);
  }
  function prefixLines(prefix) {
    var value = body.value;
    var start = value.lastIndexOf("\n", body.selectionStart - 1) + 1;
    var end = body.selectionEnd;
    var lines = value.slice(start, end).split("\n");
    var text = lines.map(function (line) { return prefix + line; }).join("\n");
    replaceRange(start, end, text, text.length);
  }
  function code() {
    var chosen = body.value.slice(body.selectionStart, body.selectionEnd);
    if (chosen.indexOf("\n") >= 0) { wrap("```\n", "\n```", ""); } else { wrap("`", "`", "code"); }
  }
  function link() {
    var start = body.selectionStart, end = body.selectionEnd;
    var chosen = body.value.slice(start, end) || "link text";
    var text = "[" + chosen + "](https://)";
    replaceRange(start, end, text, chosen.length + 3, chosen.length + 11);
  }
  function insertAtCursor(text) {
    replaceRange(body.selectionStart, body.selectionEnd, text, text.length);
  }

  // ---- Toolbar ----
  var fileInput = document.createElement("input");
  fileInput.type = "file";
  fileInput.accept = "image/jpeg,image/png,image/gif,image/webp";
  fileInput.multiple = true;
  fileInput.hidden = true;
  fileInput.addEventListener("change", function () {
    uploadAll(fileInput.files);
    fileInput.value = "";
  });
  var html = form.getAttribute("data-format") === "html";
  var tools = [
    ["Bold", "B", "Ctrl+B", function () { wrap("**", "**", "bold text"); }],
    ["Italic", "I", "Ctrl+I", function () { wrap("_", "_", "italic text"); }],
    ["Heading", "H", "", function () { prefixLines("## "); }],
    ["Link", "Link", "Ctrl+K", link],
    ["Quote", "\u201C", "", function () { prefixLines("> "); }],
    ["List", "List", "", function () { prefixLines("- "); }],
    ["Code", "</>", "", code],
    ["Upload an image", "Image", "", function () { fileInput.click(); }],
    ["Insert from the library", "Library", "", openLibrary]
  ];
  var toolbar = document.createElement("div");
  toolbar.className = "editor-toolbar";
  toolbar.setAttribute("role", "toolbar");
  toolbar.setAttribute("aria-label", "Formatting");
  toolbar.setAttribute("aria-controls", "post-body");
  tools.forEach(function (tool, index) {
    // An imported HTML post is edited as HTML: Markdown marks would show as text.
    if (html && index < 7) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "tool";
    button.textContent = tool[1];
    button.setAttribute("aria-label", tool[0]);
    button.title = tool[0] + (tool[2] ? " (" + tool[2] + ")" : "");
    button.addEventListener("click", tool[3]);
    toolbar.appendChild(button);
  });
  toolbar.appendChild(fileInput);
  body.parentNode.insertBefore(toolbar, body);
  var uploads = document.createElement("ul");
  uploads.className = "editor-uploads";
  uploads.setAttribute("aria-label", "Uploads");
  body.parentNode.insertBefore(uploads, body);

  // ---- Saving: Ctrl/Cmd+S saves the draft; a published post's text is kept unsaved ----
  var submitting = false;
  var uploadsInFlight = 0;
  var waitingToSubmit = false;
  var waitingSubmitter = null;
  form.addEventListener("submit", function (event) {
    var preview = event.submitter && event.submitter.value === "preview";
    if (uploadsInFlight > 0 && !preview) {
      event.preventDefault();
      say("Wait for the image to finish uploading, then save.", true);
      return;
    }
    if (preview) { return; }
    // An autosave still on its way could land after this save: the save waits for it.
    if (autosaving) {
      event.preventDefault();
      waitingToSubmit = true;
      waitingSubmitter = event.submitter || null;
      return;
    }
    submitting = true;
    clearTimeout(autosaveTimer);
  });
  function saveDraft() {
    var button = form.querySelector('button[name="action"][value="save"]');
    var state = (document.querySelector("h1 .status") || {}).textContent;
    // A draft or a scheduled post is saved as it stands; a published post's changes would go out
    // at once, so they are only kept (autosaved) until Update is pressed.
    if (button && (state === "New" || state === "Draft" || state === "Scheduled")) {
      if (form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
    } else {
      autosave(true);
    }
  }
  document.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) { return; }
    var key = event.key.toLowerCase();
    if (key === "s") { event.preventDefault(); saveDraft(); return; }
    if (event.target !== body || html) { return; }
    if (key === "b") { event.preventDefault(); wrap("**", "**", "bold text"); }
    if (key === "i") { event.preventDefault(); wrap("_", "_", "italic text"); }
    if (key === "k") { event.preventDefault(); link(); }
  });

  // ---- Autosave into the server's slot ----
  function fields() {
    var data = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || element.name === "action" || element.disabled) { return; }
      data.append(element.name, element.value);
    });
    return data;
  }
  function snapshot() {
    var data = fields();
    data.delete("csrf");
    return data.toString();
  }
  var loaded = snapshot();
  var kept = loaded;
  // A page that comes back with an error or a conflict holds text that is not saved.
  var unsavedOnArrival = !!document.querySelector(".error-summary, .conflict");
  var autosaveTimer = null;
  var autosaving = false;
  // While earlier unsaved changes are on offer, new typing must not replace them in the slot.
  var offer = document.querySelector(".autosave-offer");
  function autosave(now) {
    clearTimeout(autosaveTimer);
    autosaveTimer = null;
    if (submitting) { return; }
    if (offer) {
      say("Restore or discard your earlier unsaved changes (above) before these can be kept.", true);
      return;
    }
    var current = snapshot();
    if (current === kept && !now) { return; }
    if (autosaving) { autosaveTimer = setTimeout(autosave, 1000); return; }
    autosaving = true;
    fetch("/admin/posts/" + slot + "/autosave", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: fields(),
      // Sent even when it was started by leaving the page.
      keepalive: true
    })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (answer) {
        kept = current;
        if (answer.changed_since) {
          say("Unsaved changes kept at " + answer.saved_at + ". Someone else has saved this post since you opened it: when you save, you will see both versions.", true);
        } else {
          say("Unsaved changes kept at " + answer.saved_at + ".");
        }
      })
      .catch(function () {
        say("Your changes could not be kept on the server just now; keep this page open, Folio will try again.", true);
        autosaveTimer = setTimeout(autosave, 10000);
      })
      .then(function () {
        autosaving = false;
        if (waitingToSubmit) {
          waitingToSubmit = false;
          if (form.requestSubmit) {
            form.requestSubmit(waitingSubmitter || undefined);
          } else {
            submitting = true;
            form.submit();
          }
        }
      });
  }
  function typed() {
    if (autosaveTimer === null) { autosaveTimer = setTimeout(autosave, 3000); }
  }
  form.addEventListener("input", typed);
  form.addEventListener("change", function () { autosave(false); });
  form.addEventListener("focusout", function () { autosave(false); });
  window.addEventListener("beforeunload", function (event) {
    if (submitting) { return; }
    if (snapshot() !== loaded || unsavedOnArrival) {
      autosave(false);
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // ---- Live preview, from the function that publishes ----
  var preview = document.getElementById("live-preview");
  var previewBody = document.getElementById("live-preview-body");
  var previewTimer = null;
  var previewAsked = 0;
  function refreshPreview() {
    var asked = ++previewAsked;
    var data = new URLSearchParams();
    data.append("csrf", csrf);
    data.append("post", slot);
    data.append("body", body.value);
    fetch("/admin/posts/render", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: data
    })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (answer) {
        if (asked !== previewAsked) { return; }
        // The server's sanitised HTML: the very bytes a reader's page will hold.
        previewBody.innerHTML = answer.html;
        words.textContent = answer.words + (answer.words === 1 ? " word" : " words") + ", " + answer.minutes + " min read";
        preview.setAttribute("data-rendered", String(asked));
      })
      .catch(function () { /* the preview catches up at the next keystroke */ });
  }
  if (preview && previewBody) {
    preview.hidden = false;
    form.classList.add("with-preview");
    body.addEventListener("input", function () {
      clearTimeout(previewTimer);
      previewTimer = setTimeout(refreshPreview, 300);
    });
    refreshPreview();
  }

  // ---- Images: drop, paste, choose or pick ----
  var dialog = document.createElement("dialog");
  dialog.className = "image-dialog";
  dialog.setAttribute("aria-labelledby", "image-dialog-title");
  dialog.innerHTML =
    '<form method="dialog">' +
    '<h2 id="image-dialog-title">Describe the image</h2>' +
    '<img class="image-dialog-preview" alt="">' +
    '<div class="field"><label for="image-alt">Alt text <span class="optional">(what it shows, for people who cannot see it)</span></label>' +
    '<input type="text" id="image-alt" autocomplete="off"></div>' +
    '<div class="field"><label for="image-caption">Caption <span class="optional">(optional, shown under the photo)</span></label>' +
    '<input type="text" id="image-caption" autocomplete="off"></div>' +
    '<div class="actions"><button value="insert">Insert</button> <button value="cancel" class="secondary" formnovalidate>Cancel</button></div>' +
    "</form>";
  document.body.appendChild(dialog);
  var library = document.createElement("dialog");
  library.className = "library-dialog";
  library.setAttribute("aria-labelledby", "library-dialog-title");
  library.innerHTML =
    '<form method="dialog"><h2 id="library-dialog-title">Insert an earlier upload</h2>' +
    '<p class="hint" role="status"></p><ul class="library-list"></ul>' +
    '<div class="actions"><button value="cancel" class="secondary">Close</button></div></form>';
  document.body.appendChild(library);

  // Asks for the alt text and caption, then calls back with the Markdown (or null: cancelled).
  // One image at a time: several dropped together are described in turn.
  var describing = [];
  function describe(url, done, knownAlt) {
    describing.push([url, done, knownAlt || ""]);
    if (describing.length === 1) { describeNext(); }
  }
  function describeNext() {
    if (!describing.length) { return; }
    var url = describing[0][0];
    var done = describing[0][1];
    var knownAlt = describing[0][2];
    var alt = dialog.querySelector("#image-alt");
    var caption = dialog.querySelector("#image-caption");
    dialog.querySelector("img").src = url;
    alt.value = knownAlt;
    caption.value = "";
    dialog.returnValue = "";
    dialog.addEventListener("close", function closed() {
      dialog.removeEventListener("close", closed);
      describing.shift();
      setTimeout(describeNext, 0);
      if (dialog.returnValue !== "insert") { done(null); return; }
      if (alt.value.trim() && alt.value.trim() !== knownAlt) { keepAlt(url, alt.value.trim()); }
      if (html) {
        var img = document.createElement("img");
        img.src = url;
        img.alt = alt.value;
        if (!caption.value.trim()) { done(img.outerHTML); return; }
        var figure = document.createElement("figure");
        var figcaption = document.createElement("figcaption");
        figcaption.textContent = caption.value.trim();
        figure.appendChild(img);
        figure.appendChild(figcaption);
        done(figure.outerHTML);
        return;
      }
      var text = "![" + alt.value.replace(/[\[\]]/g, "") + "](" + url;
      if (caption.value.trim()) { text += ' "' + caption.value.trim().replace(/"/g, "\u201D") + '"'; }
      done(text + ")");
    });
    dialog.showModal();
    alt.focus();
  }

  // The alt text is kept with the image too, and offered when it is inserted again.
  function keepAlt(url, text) {
    var hash = url.replace(/^\/media\//, "").replace(/\..*$/, "");
    var data = new URLSearchParams();
    data.append("csrf", csrf);
    data.append("alt", text);
    fetch("/admin/media/" + hash + "/alt", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: data
    }).catch(function () { /* the text itself holds the alt text */ });
  }

  // Uploads go one after another: the server processes one image at a time, and each upload's
  // request should wait only for its own image.
  var sending = [];
  var sendingNow = false;
  function sendNext() {
    if (sendingNow || !sending.length) { return; }
    sendingNow = true;
    sending.shift()();
  }

  var uploadCount = 0;
  function upload(file) {
    var number = ++uploadCount;
    var marker = "![Uploading " + file.name.replace(/[\[\]()]/g, "") + " (" + number + ")\u2026]()";
    var start = body.selectionStart;
    var before = start > 0 && body.value.charAt(start - 1) !== "\n" ? "\n\n" : "";
    insertAtCursor(before + marker + "\n\n");
    var item = document.createElement("li");
    var label = document.createElement("span");
    label.textContent = file.name + " ";
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Uploading " + file.name);
    item.appendChild(label);
    item.appendChild(bar);
    uploads.appendChild(item);
    // Called once per upload, when its placeholder gives way to the image (or to nothing).
    function replaceMarker(text) {
      uploadsInFlight -= 1;
      var at = body.value.indexOf(marker);
      if (at < 0) { if (text) { insertAtCursor(text); } return; }
      replaceRange(at, at + marker.length, text, text.length);
    }
    var data = new FormData();
    data.append("csrf", csrf);
    data.append("file", file);
    uploadsInFlight += 1;
    var request = new XMLHttpRequest();
    request.open("POST", "/admin/media");
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) { bar.value = Math.round(event.loaded * 100 / event.total); }
    });
    request.addEventListener("load", function () {
      var answer = {};
      try { answer = JSON.parse(request.responseText); } catch (e) { answer = {}; }
      if (request.status === 200 && answer.url) {
        bar.value = 100;
        item.remove();
        say(file.name + " uploaded.");
        describe(answer.url, function (markdown) {
          replaceMarker(markdown || "");
          if (!markdown) { say(file.name + " is kept in the library (Library button) but was not inserted."); }
        });
      } else {
        replaceMarker("");
        item.remove();
        say(file.name + ": " + (answer.error || "the upload failed (" + request.status + ")."), true);
      }
    });
    ["error", "abort", "timeout"].forEach(function (failure) {
      request.addEventListener(failure, function () {
        replaceMarker("");
        item.remove();
        say(file.name + ": the upload failed; check the connection and try again.", true);
      });
    });
    request.addEventListener("loadend", function () {
      sendingNow = false;
      sendNext();
    });
    sending.push(function () { request.send(data); });
    sendNext();
  }
  function uploadAll(files) {
    Array.prototype.forEach.call(files || [], function (file) {
      if (/^image\//.test(file.type)) { upload(file); } else { say(file.name + " is not an image.", true); }
    });
  }
  function hasFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types || [], "Files") >= 0;
  }
  body.addEventListener("dragover", function (event) {
    if (hasFiles(event)) { event.preventDefault(); body.classList.add("dropping"); }
  });
  body.addEventListener("dragleave", function () { body.classList.remove("dropping"); });
  body.addEventListener("drop", function (event) {
    body.classList.remove("dropping");
    if (!hasFiles(event)) { return; }
    event.preventDefault();
    uploadAll(event.dataTransfer.files);
  });
  body.addEventListener("paste", function (event) {
    var files = event.clipboardData && event.clipboardData.files;
    if (files && files.length) { event.preventDefault(); uploadAll(files); }
  });

  // Lists the library; `pick` gets the chosen file (by default it is inserted into the text).
  var featured = document.getElementById("post-featured-image");
  if (featured) {
    var choose = document.createElement("button");
    choose.type = "button";
    choose.className = "secondary";
    choose.textContent = "Choose from the library";
    choose.addEventListener("click", function () {
      openLibrary(function (file) {
        featured.value = file.url;
        featured.dispatchEvent(new Event("change", { bubbles: true }));
        featured.focus();
      });
    });
    featured.parentNode.appendChild(choose);
  }

  function openLibrary(pick) {
    if (typeof pick !== "function") {
      pick = function (file) {
        describe(file.url, function (markdown) { if (markdown) { insertAtCursor(markdown); } }, file.alt);
      };
    }
    var list = library.querySelector("ul");
    var note = library.querySelector("p");
    list.textContent = "";
    note.textContent = "Loading\u2026";
    library.showModal();
    fetch("/admin/media", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (files) {
        note.textContent = files.length ? "" : "Nothing uploaded yet.";
        files.forEach(function (file) {
          var item = document.createElement("li");
          var button = document.createElement("button");
          button.type = "button";
          button.className = "library-item";
          var image = document.createElement("img");
          image.src = file.url;
          image.alt = "";
          image.loading = "lazy";
          var label = document.createElement("span");
          label.textContent = (file.alt || file.name || "An image") + ", uploaded " + file.uploaded;
          button.appendChild(image);
          button.appendChild(label);
          button.addEventListener("click", function () {
            library.close();
            pick(file);
          });
          item.appendChild(button);
          list.appendChild(item);
        });
      })
      .catch(function () { note.textContent = "The uploads could not be listed."; });
  }
})();
