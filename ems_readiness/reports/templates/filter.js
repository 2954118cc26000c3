(function () {
  "use strict";
  var bar = document.getElementById("filter-bar");
  if (!bar) { return; }
  var toggles = bar.querySelectorAll("button[data-toggle]");
  var chips = document.querySelectorAll("button[data-change-toggle]");
  var filtered = document.querySelectorAll("main [data-filter]");

  function has(list, word) {
    return (" " + (list || "") + " ").indexOf(" " + word + " ") !== -1;
  }

  // An element is shown when its own status is shown or when anything inside it still is, so
  // hiding "fail" keeps the warnings of a failing responsibility in view. With a change chip
  // pressed, only what carries that change (data-change) is shown, with what contains it.
  // Elements come in document order; walking backwards decides every descendant before its ancestor.
  function apply() {
    var hidden = {};
    var change = null;
    toggles.forEach(function (b) {
      if (b.getAttribute("aria-pressed") === "false") { hidden[b.getAttribute("data-toggle")] = true; }
    });
    chips.forEach(function (b) {
      if (b.getAttribute("aria-pressed") === "true") { change = b.getAttribute("data-change-toggle"); }
    });
    for (var i = filtered.length - 1; i >= 0; i--) {
      var el = filtered[i];
      var own = !hidden[el.getAttribute("data-filter")];
      if (change !== null) {
        own = own && el.hasAttribute("data-change") && has(el.getAttribute("data-change"), change);
      }
      var inner = el.querySelector("[data-filter]:not(.filtered-out)") !== null;
      el.classList.toggle("filtered-out", !(own || inner));
      // a finding the chip asks for is not left folded away
      if (el.tagName === "DETAILS") {
        if (change !== null && inner && !el.open) { el.open = true; el.setAttribute("data-opened-for-change", ""); }
        if (change === null && el.hasAttribute("data-opened-for-change")) {
          el.open = false; el.removeAttribute("data-opened-for-change");
        }
      }
    }
  }

  bar.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) { return; }
    if (button.hasAttribute("data-show-all")) {
      toggles.forEach(function (b) { b.setAttribute("aria-pressed", "true"); });
      chips.forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
    } else {
      button.setAttribute("aria-pressed", String(button.getAttribute("aria-pressed") === "false"));
    }
    apply();
  });

  // the "Since the baseline" chips: one change at a time; pressing it again shows everything
  chips.forEach(function (chip) {
    chip.addEventListener("click", function () {
      var pressed = chip.getAttribute("aria-pressed") === "true";
      chips.forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
      chip.setAttribute("aria-pressed", String(!pressed));
      apply();
    });
    chip.disabled = false;
  });

  bar.hidden = false;
})();
