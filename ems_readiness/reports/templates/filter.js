(function () {
  "use strict";
  var bar = document.getElementById("filter-bar");
  if (!bar) { return; }
  var toggles = bar.querySelectorAll("button[data-toggle]");
  var filtered = document.querySelectorAll("main [data-filter]");

  // An element is shown when its own status is shown or when anything inside it still is, so
  // hiding "fail" keeps the warnings of a failing responsibility in view. Elements come in
  // document order; walking backwards decides every descendant before its ancestor.
  function apply() {
    var hidden = {};
    toggles.forEach(function (b) {
      if (b.getAttribute("aria-pressed") === "false") { hidden[b.getAttribute("data-toggle")] = true; }
    });
    for (var i = filtered.length - 1; i >= 0; i--) {
      var el = filtered[i];
      var shown = !hidden[el.getAttribute("data-filter")] ||
        el.querySelector("[data-filter]:not(.filtered-out)") !== null;
      el.classList.toggle("filtered-out", !shown);
    }
  }

  bar.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) { return; }
    if (button.hasAttribute("data-show-all")) {
      toggles.forEach(function (b) { b.setAttribute("aria-pressed", "true"); });
    } else {
      button.setAttribute("aria-pressed", String(button.getAttribute("aria-pressed") === "false"));
    }
    apply();
  });

  bar.hidden = false;
})();
