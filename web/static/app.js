// Node Community: the little JavaScript the pages use on top of htmx.
// Everything works without it; it only improves live updates.
(function () {
  "use strict";

  // Show "reconnecting…" while a live stream is down; the browser retries by
  // itself and resumes after the last event it saw (Last-Event-ID).
  function setState(el, state) {
    document.querySelectorAll("[data-live-state]").forEach(function (s) {
      s.setAttribute("data-state", state);
    });
    if (el) el.setAttribute("data-live", state);
  }
  document.addEventListener("htmx:sseOpen", function (e) { setState(e.target, "connected"); });
  document.addEventListener("htmx:sseError", function (e) { setState(e.target, "reconnecting"); });

  // A share that is already on the page (the same event seen twice around a
  // reconnect) is not inserted again.
  document.addEventListener("htmx:sseBeforeMessage", function (e) {
    var html = e.detail && e.detail.data;
    if (typeof html !== "string") return;
    var m = html.match(/data-share-id="(\d+)"/);
    if (m && document.querySelector('[data-share-id="' + m[1] + '"]')) e.preventDefault();
  });

  // Drop the "nothing here yet" note once something arrives.
  document.addEventListener("htmx:sseMessage", function () {
    var empty = document.querySelector('[data-testid="feed-empty"]');
    if (empty && document.querySelector('#feed [data-share-id]')) empty.remove();
  });
})();
