// Passkeys: a form marked data-passkey="create" (add one) or "get" (sign in with one) asks
// the server to start a ceremony, hands its options to the browser's passkey prompt, and sends
// the answer back. The server's reply says where to go next, or what went wrong (shown in the
// form's alert, next to what was typed, which stays).
(function () {
  "use strict";

  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var text = atob(base64);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // The browser's dictionaries refuse null where a member may only be absent.
  function withoutNulls(value) {
    if (Array.isArray(value)) return value.map(withoutNulls);
    if (value && typeof value === "object") {
      var out = {};
      Object.keys(value).forEach(function (key) {
        if (value[key] !== null) out[key] = withoutNulls(value[key]);
      });
      return out;
    }
    return value;
  }

  function creationOptions(options) {
    var publicKey = withoutNulls(options.publicKey);
    publicKey.challenge = toBytes(publicKey.challenge);
    publicKey.user.id = toBytes(publicKey.user.id);
    (publicKey.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    // A passkey the browser can offer without a typed address (a discoverable credential).
    publicKey.authenticatorSelection = Object.assign({}, publicKey.authenticatorSelection, {
      residentKey: "preferred",
      requireResidentKey: false
    });
    return { publicKey: publicKey };
  }

  function requestOptions(options) {
    var publicKey = withoutNulls(options.publicKey);
    publicKey.challenge = toBytes(publicKey.challenge);
    (publicKey.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return { publicKey: publicKey };
  }

  function answer(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      if (response.getTransports) out.response.transports = response.getTransports();
    } else {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      if (response.userHandle) out.response.userHandle = toBase64url(response.userHandle);
    }
    return out;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
      body: body.toString()
    }).then(function (reply) {
      return reply.json().catch(function () { return {}; }).then(function (json) {
        if (!reply.ok) throw new Error(json.error || "The server refused the request (" + reply.status + ").");
        return json;
      });
    });
  }

  function run(form) {
    var kind = form.getAttribute("data-passkey");
    var alert = form.querySelector("[role=alert]");
    var button = form.querySelector("button[type=submit]");
    var body = new URLSearchParams(new FormData(form));
    if (alert) { alert.hidden = true; alert.textContent = ""; }
    if (button) button.disabled = true;
    post(form.getAttribute("data-start"), body).then(function (started) {
      var prompt = kind === "create"
        ? navigator.credentials.create(creationOptions(started.options))
        : navigator.credentials.get(requestOptions(started.options));
      return prompt.then(function (credential) {
        body.set("ceremony", started.ceremony);
        body.set("credential", JSON.stringify(answer(credential)));
        return post(form.getAttribute("data-finish"), body);
      });
    }).then(function (done) {
      window.location.assign(done.location);
    }).catch(function (error) {
      var message = error && error.name === "NotAllowedError"
        ? "The passkey was not used: the prompt was cancelled or timed out."
        : error && error.name === "InvalidStateError"
          ? "This device already holds a passkey for your account."
          : (error && error.message) || "The passkey did not work.";
      if (alert) { alert.textContent = message; alert.hidden = false; }
      if (button) button.disabled = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-passkey]");
    for (var i = 0; i < forms.length; i++) {
      var form = forms[i];
      // Shown only where they can work: with this script, in a browser that has passkeys.
      if (!window.PublicKeyCredential) continue;
      form.hidden = false;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        run(event.currentTarget);
      });
    }
  });
})();
