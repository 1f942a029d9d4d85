/* The batch review page: "Select all on this page" for the proposed pairs. The review is
   swapped in by HTMX once the batch is computed, so the listener sits on the document. */
(function () {
  "use strict";

  function pairBoxes(form) {
    return form.querySelectorAll('input[type="checkbox"][name="pairs"]');
  }

  // Without this script the box could not work, so it is shown only once the script runs.
  function reveal() {
    document.querySelectorAll("[data-select-all-control][hidden]").forEach(function (control) {
      control.hidden = false;
    });
  }
  reveal();
  document.addEventListener("htmx:load", reveal);

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    var form = target.form;
    if (!form) return;
    var all = form.querySelector("[data-select-all]");
    if (!all) return;
    if (target === all) {
      pairBoxes(form).forEach(function (box) {
        box.checked = all.checked;
      });
    } else if (target.name === "pairs") {
      var boxes = Array.prototype.slice.call(pairBoxes(form));
      var checked = boxes.filter(function (box) { return box.checked; }).length;
      all.checked = checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
  });
})();
