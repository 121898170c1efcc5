// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // After a failed submit, move focus to the error summary so screen readers
    // announce it and keyboard users can jump to the fields from there.
    var summary = document.querySelector(".error-summary");
    if (summary) {
      summary.focus();
    }
    // Inside another site's page (an embedded form), that page stays scrolled where
    // the send button was; after a step inside the frame (our own page came before:
    // same-origin referrer), bring the top of the new page into view.
    var stepped = document.referrer.indexOf(window.location.origin + "/") === 0;
    if (document.body.classList.contains("embedded") && window.parent !== window && stepped) {
      var top = summary || document.querySelector(".receipt") || document.querySelector("h1");
      if (top && top.scrollIntoView) {
        top.scrollIntoView({ block: "start" });
      }
    }
    // On a form, a language link sends the form with the new language, so no answer
    // is lost; the server shows the same page again in that language.
    var form = document.getElementById("public-form");
    var field = document.getElementById("switch_lang");
    if (form && field && form.getAttribute("action") !== "#") {
      document.querySelectorAll("a[data-switch-lang]").forEach(function (link) {
        link.addEventListener("click", function (event) {
          event.preventDefault();
          field.value = link.getAttribute("data-switch-lang");
          form.submit();
        });
      });
    }
    rememberSentForms(form);
    // A location question: the browser's location, only when the person presses the
    // button (the browser asks them first); they can still change or type it.
    document.querySelectorAll("[data-geolocate]").forEach(function (box) {
      if (!navigator.geolocation) return;
      box.hidden = false;
      var input = document.getElementById(box.getAttribute("data-geolocate"));
      var status = box.querySelector("[data-geo-status]");
      box.querySelector("button").addEventListener("click", function () {
        status.textContent = status.getAttribute("data-locating");
        navigator.geolocation.getCurrentPosition(function (position) {
          input.value = position.coords.latitude.toFixed(6) + ", " + position.coords.longitude.toFixed(6);
          input.dispatchEvent(new Event("input", { bubbles: true }));
          status.textContent = status.getAttribute("data-found");
        }, function (error) {
          status.textContent = status.getAttribute(error.code === 1 ? "data-denied" : "data-failed");
        }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      });
    });
    // A summary made in the background: follow its progress without reloading, and
    // offer the download when it is ready. (Without JavaScript the page reloads.)
    var job = document.querySelector("[data-job-status]");
    if (job) {
      var bar = job.querySelector("progress");
      var state = job.querySelector("[data-job-state]");
      var poll = function () {
        fetch(job.getAttribute("data-job-status"), { credentials: "same-origin" })
          .then(function (response) { return response.json(); })
          .then(function (data) {
            bar.value = data.progress;
            if (data.state === "done" || data.state === "failed") {
              window.location.reload();
              return;
            }
            state.textContent = job.getAttribute("data-label-" + data.state) || state.textContent;
            window.setTimeout(poll, 1500);
          })
          .catch(function () { window.setTimeout(poll, 5000); });
      };
      window.setTimeout(poll, 1000);
    }
  });

  // Back from the receipt, the browser loads the form page again, with a new key: the
  // same answers sent again would be a second response. So the key of a page that was
  // sent is kept for this tab (sessionStorage), and a page reached through the history
  // gets it back, with a notice: sending it again shows the same receipt.
  function rememberSentForms(form) {
    var store;
    try {
      store = window.sessionStorage;
      store.getItem("probe");
    } catch (error) {
      return; // storage blocked (some embedded frames): nothing to remember
    }
    var receipt = document.querySelector(".receipt .reference bdi");
    if (receipt && /\/thanks$/.test(window.location.pathname)) {
      var sentPath = window.location.pathname.replace(/\/thanks$/, "");
      var pending = store.getItem("intake-pending:" + sentPath);
      if (pending) {
        store.setItem("intake-sent:" + sentPath, JSON.stringify({
          key: pending, reference: receipt.textContent.trim()
        }));
        store.removeItem("intake-pending:" + sentPath);
      }
      return;
    }
    var key = form && form.querySelector("input[name=idempotency_key]");
    var notice = document.querySelector("[data-sent-notice]");
    if (!key || !notice) {
      return;
    }
    var path = new URL(form.action, window.location.href).pathname;
    form.addEventListener("submit", function (event) {
      var nav = event.submitter && event.submitter.name === "nav" ? event.submitter.value : "send";
      if (nav === "send") {
        store.setItem("intake-pending:" + path, key.value);
      }
    });
    var entry = window.performance && performance.getEntriesByType
      ? performance.getEntriesByType("navigation")[0] : null;
    var sent = store.getItem("intake-sent:" + path);
    if (entry && entry.type === "back_forward" && sent) {
      sent = JSON.parse(sent);
      key.value = sent.key;
      notice.querySelector("[data-sent-reference]").textContent = sent.reference;
      notice.hidden = false;
    }
  }
})();
