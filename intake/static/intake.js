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
})();
