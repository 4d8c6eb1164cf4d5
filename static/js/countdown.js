/* Keeps every [data-deadline] countdown current; the server rendered the same text. */
(function () {
  var clocks = document.querySelectorAll("[data-deadline]");
  if (!clocks.length) { return; }
  var DAY = 86400, URGENT = 24 * 3600;
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function remaining(seconds) {
    var days = Math.floor(seconds / DAY); seconds -= days * DAY;
    var hours = Math.floor(seconds / 3600); seconds -= hours * 3600;
    var minutes = Math.floor(seconds / 60); seconds -= minutes * 60;
    if (days) { return days + " d " + pad(hours) + " h " + pad(minutes) + " m"; }
    return hours + " h " + pad(minutes) + " m " + pad(seconds) + " s";
  }
  function tick() {
    var now = Date.now();
    clocks.forEach(function (clock) {
      var left = Math.floor((Date.parse(clock.dataset.deadline) - now) / 1000);
      var state = left <= 0 ? "overdue" : (left < URGENT ? "urgent" : "ok");
      clock.textContent = left <= 0 ? "Overdue by " + remaining(-left) : remaining(left) + " left";
      ["ok", "urgent", "overdue"].forEach(function (name) {
        clock.classList.toggle("countdown-" + name, name === state);
        var row = clock.closest(".queue-row");
        if (row) { row.classList.toggle("is-" + name, name === state); }
      });
    });
  }
  tick();
  window.setInterval(tick, 1000);
}());
