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
  });
})();
