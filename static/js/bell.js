/* Keeps the bell's unread count current without a reload (the server rendered it first). */
(function () {
  var bell = document.querySelector("[data-testid=bell][data-unread-url]");
  if (!bell || !window.fetch) { return; }
  var count = bell.querySelector("[data-testid=bell-count]");
  var label = bell.getAttribute("aria-label") || "";
  var POLL_MS = 30000;
  function show(unread) {
    var shown = String(unread);
    if (count.textContent === shown) { return; }
    count.textContent = shown;
    bell.setAttribute("aria-label", label.replace(/\d+/, shown));
    bell.classList.toggle("has-unread", unread > 0);
  }
  function poll() {
    if (document.hidden) { return; }
    fetch(bell.dataset.unreadUrl, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && typeof data.unread === "number") { show(data.unread); } })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }
  window.setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
}());
