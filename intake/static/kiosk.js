// Kiosk mode on a tablet (see intake/kiosk/views.py and docs/kiosk.md).
//
// * Every submission goes into a queue in IndexedDB first, then to the server with
//   fetch; it leaves the queue only when the server acknowledged it (stored, or
//   stored before under the same idempotency key). Without a connection it waits
//   and is sent when the connection is back; staff see how many are waiting.
// * After a submission the form is emptied and replaced by the receipt, then the
//   language picker comes back; a form left alone is cleared after the event's
//   idle time. Nothing with answers stays in the history or the page cache.
// * A service worker keeps the picker and the empty forms for offline use.
(function () {
  "use strict";

  var DB_NAME = "intake-kiosk";
  var STORE = "queue";
  var RETRY_MS = 10000;

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  // Run `work(store)` in one transaction; resolves with its request's result once
  // the transaction is committed (so "stored" means on disk, not merely asked).
  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var request = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  var queue = {
    all: function () {
      return withStore("readonly", function (s) { return s.getAll(); }).then(function (items) {
        return (items || []).sort(function (a, b) { return a.queuedAt < b.queuedAt ? -1 : 1; });
      });
    },
    put: function (item) { return withStore("readwrite", function (s) { return s.put(item); }); },
    remove: function (key) { return withStore("readwrite", function (s) { return s["delete"](key); }); }
  };

  function newKey() {
    var bytes = new Uint8Array(24);
    crypto.getRandomValues(bytes);
    var text = "";
    bytes.forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // Send one queued answer. Resolves with {done, reference, status}: done when the
  // server acknowledged it (it is then removed); status 0 means no answer at all.
  function send(item) {
    // The browser knows it has no network: no request that can only fail.
    if (navigator.onLine === false) return Promise.resolve({ done: false, status: 0 });
    return fetch(item.url, {
      method: "POST",
      body: item.body,
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Intake-Queue": "1" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok && data.reference) {
          return queue.remove(item.key).then(function () {
            return { done: true, reference: data.reference, status: response.status };
          });
        }
        // Refused for good (a replaced kiosk link is a 404): kept for staff, not retried.
        var permanent = [400, 404, 409, 410, 422].indexOf(response.status) >= 0;
        item.attempts = (item.attempts || 0) + 1;
        var errors = data.errors;
        if (permanent) {
          item.state = "attention";
          item.reason = data.status || String(response.status);
        }
        return queue.put(item).then(function () {
          return { done: false, status: response.status, permanent: permanent, errors: errors };
        });
      });
    }, function () {
      return { done: false, status: 0 };
    });
  }

  var flushing = null;
  // Send everything waiting, oldest first; stop at the first answer the server does
  // not take for a passing reason (no connection, server busy), to try again later.
  function flush() {
    if (flushing) return flushing;
    flushing = queue.all().then(function (items) {
      var waiting = items.filter(function (item) { return item.state !== "attention"; });
      var next = function (i) {
        if (i >= waiting.length) return null;
        return send(waiting[i]).then(function (result) {
          if (!result.done && !result.permanent) return null;
          return next(i + 1);
        });
      };
      return next(0);
    }).catch(function () { return null; }).then(function () {
      flushing = null;
      return showCounts();
    });
    return flushing;
  }

  function fill(template, n) { return template.replace("{n}", String(n)); }

  function showCounts() {
    var box = document.querySelector("[data-kiosk-queue]");
    return queue.all().then(function (items) {
      var attention = items.filter(function (item) { return item.state === "attention"; }).length;
      var waiting = items.length - attention;
      if (box) {
        var parts = [];
        if (waiting) parts.push(fill(box.getAttribute("data-label-waiting"), waiting));
        if (attention) parts.push(fill(box.getAttribute("data-label-attention"), attention));
        box.querySelector("[data-kiosk-queue-text]").textContent = parts.join(" · ");
        box.hidden = parts.length === 0;
      }
      staffPage(items, waiting, attention);
      return items;
    }).catch(function () { return []; });
  }

  function goHome(home) {
    window.location.replace(home);
  }

  // The server's messages: a summary above the form with links to the questions, and
  // each message at its question (as the server-rendered page shows them).
  function showErrors(form, errors) {
    form.querySelectorAll("[data-kiosk-error]").forEach(function (el) { el.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    form.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    var old = document.querySelector("[data-kiosk-summary]");
    if (old) old.remove();
    var summary = document.getElementById("kiosk-errors").content.firstElementChild.cloneNode(true);
    summary.setAttribute("data-kiosk-summary", "");
    var list = summary.querySelector("ul");
    // In the form's order (the server's JSON lists the names alphabetically).
    form.querySelectorAll("[data-field]").forEach(function (question) {
      var name = question.getAttribute("data-field");
      if (!Object.prototype.hasOwnProperty.call(errors, name)) return;
      question.classList.add("has-error");
      var label = question.querySelector("legend, label");
      var target = question.querySelector("input, select, textarea");
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#" + (target ? target.id : question.id);
      link.textContent = (label ? label.textContent.trim() + " " : "") + errors[name];
      item.appendChild(link);
      list.appendChild(item);
      var message = document.getElementById("kiosk-field-error").content.firstElementChild.cloneNode(true);
      message.setAttribute("data-kiosk-error", "");
      message.querySelector("[data-message]").textContent = errors[name];
      if (label) label.insertAdjacentElement("afterend", message);
      question.querySelectorAll("input, select, textarea").forEach(function (el) {
        el.setAttribute("aria-invalid", "true");
      });
    });
    form.parentNode.insertBefore(summary, form);
    summary.focus();
  }

  // The receipt replaces everything on the page: the form is emptied and removed.
  function showReceipt(form, home, reference, seconds) {
    var template = document.getElementById("kiosk-receipt");
    var main = document.getElementById("main");
    form.reset();
    var receipt = template.content.firstElementChild.cloneNode(true);
    receipt.querySelector('[data-receipt="' + (reference ? "queued" : "stored") + '"]').remove();
    if (reference) receipt.querySelector("[data-reference]").textContent = reference;
    while (main.firstChild) main.removeChild(main.firstChild);
    main.appendChild(receipt);
    document.title = receipt.querySelector("h1").textContent;
    receipt.focus();
    receipt.querySelector("[data-kiosk-next]").addEventListener("click", function (event) {
      event.preventDefault();
      goHome(home);
    });
    window.setTimeout(function () { goHome(home); }, seconds * 1000);
  }

  function kioskForm(form, home) {
    var body = document.body;
    var thanksSeconds = parseInt(body.getAttribute("data-thanks-seconds"), 10) || 15;
    var idleSeconds = parseInt(body.getAttribute("data-idle-seconds"), 10) || 120;
    // A page rendered for a GET (maybe from the service worker's cache, shown to
    // several people in turn) gets a key of its own on every load.
    if (form.getAttribute("data-fresh-key") === "true") {
      form.elements.idempotency_key.value = newKey();
    }
    var sent = false;
    form.addEventListener("submit", function (event) {
      if (!window.indexedDB) return; // an ordinary post, which the server handles
      event.preventDefault();
      if (sent) return;
      sent = true;
      var data = new URLSearchParams(new FormData(form));
      data.set("nav", "send");
      var item = {
        key: form.elements.idempotency_key.value,
        url: form.action,
        body: data.toString(),
        form: form.getAttribute("data-kiosk-form"),
        lang: document.documentElement.lang,
        event: body.getAttribute("data-kiosk-event"),
        queuedAt: new Date().toISOString(),
        attempts: 0,
        state: "waiting"
      };
      queue.put(item).then(function () {
        return send(item);
      }).then(function (result) {
        if (result.done) {
          showReceipt(form, home, result.reference, thanksSeconds);
        } else if (result.status === 422) {
          // Something to correct: nothing is stored. The messages (in the person's
          // language) go next to the questions; the page, its answers and its key stay.
          return queue.remove(item.key).then(function () {
            showErrors(form, result.errors || {});
            sent = false;
          });
        } else {
          showReceipt(form, home, null, thanksSeconds);
        }
        return showCounts();
      }, function () {
        sent = false;
        form.submit(); // no IndexedDB after all: an ordinary post
      });
    });

    // Idle: warn, then clear the form and go back to the picker.
    var last = Date.now();
    var warning = document.querySelector("[data-kiosk-idle]");
    var warnAt = Math.max(idleSeconds - 20, idleSeconds / 2) * 1000;
    var touched = function () {
      last = Date.now();
      if (warning) warning.hidden = true;
    };
    ["input", "change", "keydown", "pointerdown", "touchstart", "scroll"].forEach(function (type) {
      document.addEventListener(type, touched, { passive: true, capture: true });
    });
    if (warning) warning.querySelector("[data-kiosk-continue]").addEventListener("click", touched);
    var timer = window.setInterval(function () {
      if (sent) { window.clearInterval(timer); return; }
      var idle = Date.now() - last;
      if (idle >= idleSeconds * 1000) {
        window.clearInterval(timer);
        form.reset();
        goHome(home);
      } else if (warning && idle >= warnAt) {
        warning.hidden = false;
      }
    }, 500);
  }

  function staffPage(items, waiting, attention) {
    var box = document.querySelector("[data-kiosk-staff]");
    if (!box) return;
    var summary = box.querySelector("[data-kiosk-staff-summary]");
    var queueBox = document.querySelector("[data-kiosk-queue]");
    if (!items.length) {
      summary.textContent = box.getAttribute("data-label-none");
    } else {
      var parts = [];
      if (waiting) parts.push(fill(queueBox.getAttribute("data-label-waiting"), waiting));
      if (attention) parts.push(fill(queueBox.getAttribute("data-label-attention"), attention));
      summary.textContent = parts.join(" · ");
    }
    box.querySelector("[data-kiosk-send]").hidden = waiting === 0;
    box.querySelector("[data-kiosk-save]").hidden = items.length === 0;
    box.querySelector("[data-kiosk-discard]").hidden = !(attention && box.getAttribute("data-saved"));
  }

  function staffActions() {
    var box = document.querySelector("[data-kiosk-staff]");
    if (!box) return;
    box.querySelector("[data-kiosk-send]").addEventListener("click", function () { flush(); });
    box.querySelector("[data-kiosk-save]").addEventListener("click", function () {
      queue.all().then(function (items) {
        var file = {
          format: "intake-kiosk-queue",
          version: 1,
          event: document.body.getAttribute("data-kiosk-event"),
          eventId: parseInt(document.body.getAttribute("data-kiosk-event-id"), 10),
          savedAt: new Date().toISOString(),
          answers: items
        };
        var blob = new Blob([JSON.stringify(file, null, 1)], { type: "application/json" });
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = "intake-kiosk-" + file.savedAt.slice(0, 19).replace(/:/g, "-") + ".json";
        document.body.appendChild(link);
        link.click();
        link.remove();
        box.setAttribute("data-saved", "true");
        box.querySelector("[data-kiosk-staff-summary]").textContent = box.getAttribute("data-label-saved");
        box.querySelector("[data-kiosk-discard]").hidden = !items.some(function (item) {
          return item.state === "attention";
        });
      });
    });
    var discard = box.querySelector("[data-kiosk-discard]");
    discard.addEventListener("click", function () {
      if (!window.confirm(discard.getAttribute("data-confirm"))) return;
      queue.all().then(function (items) {
        return Promise.all(items.filter(function (item) { return item.state === "attention"; })
          .map(function (item) { return queue.remove(item.key); }));
      }).then(showCounts);
    });
  }

  // --- the staff PIN without a connection ------------------------------------------

  var PIN_STATE = "intake-kiosk-pin";

  function base64Bytes(text) {
    var raw = atob(text);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function bytesBase64(bytes) {
    var text = "";
    bytes.forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text);
  }

  // "pbkdf2-sha256$rounds$salt$hash" from the server (kiosk/store.pin_check_for).
  function pinMatches(check, pin) {
    var parts = check.split("$");
    return crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveBits"])
      .then(function (key) {
        return crypto.subtle.deriveBits({
          name: "PBKDF2", hash: "SHA-256", salt: base64Bytes(parts[2]), iterations: parseInt(parts[1], 10)
        }, key, 256);
      })
      .then(function (bits) { return bytesBase64(new Uint8Array(bits)) === parts[3]; });
  }

  // The PIN goes to the server whenever it answers; without a connection the tablet
  // checks it itself (five wrong PINs lock it for five minutes) and shows the panel.
  function pinPage() {
    var form = document.querySelector("form[data-kiosk-pin]");
    if (!form) return;
    var input = form.querySelector("input[name=pin]");
    var error = form.querySelector("[data-pin-error]");
    var panel = document.querySelector("[data-kiosk-offline-panel]");
    var say = function (label) {
      error.textContent = form.getAttribute(label);
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.value = "";
      input.focus();
    };
    var offline = function () {
      var state = JSON.parse(localStorage.getItem(PIN_STATE) || '{"fails":0,"until":0}');
      if (Date.now() < state.until || !(window.crypto && crypto.subtle)) {
        say("data-label-locked");
        return;
      }
      pinMatches(form.getAttribute("data-pin-check"), input.value).then(function (ok) {
        if (ok) {
          localStorage.removeItem(PIN_STATE);
          form.hidden = true;
          panel.hidden = false;
          showCounts();
          return;
        }
        state.fails += 1;
        if (state.fails >= 5) state = { fails: 0, until: Date.now() + 5 * 60 * 1000 };
        localStorage.setItem(PIN_STATE, JSON.stringify(state));
        say(state.until > Date.now() ? "data-label-locked" : "data-label-wrong");
      });
    };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(form.getAttribute("data-health"), { cache: "no-store" }).then(function (response) {
        if (!response.ok) throw new Error("no server");
        form.submit(); // the server checks it (this does not fire "submit" again)
      }).catch(offline);
    });
  }

  function serviceWorker(body) {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register(body.getAttribute("data-kiosk-sw")).catch(function () {});
    var picker = document.querySelector("[data-kiosk-offline-urls]");
    if (!picker) return;
    var urls = [window.location.pathname].concat(
      picker.getAttribute("data-kiosk-offline-urls").split(" ").filter(Boolean));
    document.querySelectorAll('link[rel="stylesheet"], script[src]').forEach(function (el) {
      urls.push(el.getAttribute("href") || el.getAttribute("src"));
    });
    navigator.serviceWorker.ready.then(function (registration) {
      registration.active.postMessage({ type: "cache", urls: urls });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var body = document.body;
    var home = body.getAttribute("data-kiosk-home");
    if (!home) return;
    serviceWorker(body);
    var form = document.querySelector("form[data-kiosk-form]");
    if (form) kioskForm(form, home);
    // A form page brought back by the back button from the page cache: start over.
    window.addEventListener("pageshow", function (event) {
      if (event.persisted && form) goHome(home);
    });
    staffActions();
    pinPage();
    if (window.indexedDB) {
      flush();
      window.setInterval(flush, RETRY_MS);
      window.addEventListener("online", flush);
    }
  });
})();
