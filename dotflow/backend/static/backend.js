// Live updates without reloading: every element with data-live is refreshed from the fragment at
// that URL (rendered and escaped by the server's templates) every data-every milliseconds. The
// fragment is parsed into an inert document and its nodes moved in: nothing in it runs.
"use strict";

function refresh(element) {
  fetch(element.dataset.live, {credentials: "same-origin", cache: "no-store"})
    .then(function (response) {
      if (response.status === 401) {
        window.location.assign("/");
        return null;
      }
      return response.ok ? response.text() : null;
    })
    .then(function (text) {
      if (text === null) {
        return;
      }
      const parsed = new DOMParser().parseFromString(text, "text/html");
      element.replaceChildren(...parsed.body.childNodes);
      element.dataset.refreshed = String(Number(element.dataset.refreshed || "0") + 1);
      if (element.querySelector("[data-ended]")) {
        // the run ended: its Cancel form has nothing left to do
        document.querySelectorAll("[data-hide-when-ended]").forEach(function (form) { form.hidden = true; });
      }
    })
    .catch(function () { /* the backend is away for a moment: the next round tries again */ });
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-live]").forEach(function (element) {
    const every = Number(element.dataset.every || "2000");
    window.setInterval(function () { refresh(element); }, every);
  });
});
