(function () {
  "use strict";
  var root = document.documentElement;
  var bar = document.getElementById("filter-bar");
  if (!bar) { return; }
  var buttons = bar.querySelectorAll("button[data-toggle]");

  function show(status, visible) {
    root.classList.toggle("hide-" + status, !visible);
    bar.querySelector("button[data-toggle='" + status + "']").setAttribute("aria-pressed", String(visible));
  }

  bar.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) { return; }
    if (button.hasAttribute("data-show-all")) {
      buttons.forEach(function (b) { show(b.getAttribute("data-toggle"), true); });
      return;
    }
    show(button.getAttribute("data-toggle"), button.getAttribute("aria-pressed") !== "true");
  });

  // Printing shows everything: open every collapsed section, and close again afterwards.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (d) {
      d.setAttribute("data-opened-for-print", "");
      d.open = true;
    });
  });
  window.addEventListener("afterprint", function () {
    document.querySelectorAll("details[data-opened-for-print]").forEach(function (d) {
      d.removeAttribute("data-opened-for-print");
      d.open = false;
    });
  });

  bar.hidden = false;
})();
