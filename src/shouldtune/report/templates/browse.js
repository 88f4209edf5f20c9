(function () {
  "use strict";
  // Filters rows of the predictions browser. Reads dataset/textContent, only toggles
  // `hidden`: dataset text is never handed to an HTML parser.
  var table = document.getElementById("predictions-table");
  var pick = document.getElementById("pred-strategy");
  var onlyDisagree = document.getElementById("pred-disagree");
  var onlyWrong = document.getElementById("pred-wrong");
  var query = document.getElementById("pred-search");
  var count = document.getElementById("pred-count");
  if (!table || !pick || !onlyDisagree || !onlyWrong || !query || !count) { return; }
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var cells = Array.prototype.slice.call(table.querySelectorAll("[data-s]"));

  function apply() {
    var name = pick.value, needle = query.value.toLowerCase(), shown = 0;
    cells.forEach(function (c) { c.hidden = name !== "" && c.dataset.s !== name; });
    rows.forEach(function (r) {
      var wrong = (r.dataset.wrong || "").split(" ");
      var hide = (onlyDisagree.checked && r.dataset.disagree !== "1") ||
        (onlyWrong.checked && (name === "" ? wrong[0] === "" : wrong.indexOf(name) < 0)) ||
        (needle !== "" && r.textContent.toLowerCase().indexOf(needle) < 0);
      r.hidden = hide;
      if (!hide) { shown += 1; }
    });
    count.textContent = "showing " + shown + " of " + rows.length;
  }
  // A link can carry a view: report.html?strategy=lora&disagree=1&wrong=1&q=refund
  var params = new URLSearchParams(window.location.search);
  if (params.has("strategy")) { pick.value = params.get("strategy"); }
  if (pick.selectedIndex < 0) { pick.value = ""; }
  onlyDisagree.checked = params.get("disagree") === "1";
  onlyWrong.checked = params.get("wrong") === "1";
  query.value = params.get("q") || "";
  [pick, onlyDisagree, onlyWrong].forEach(function (el) { el.addEventListener("change", apply); });
  query.addEventListener("input", apply);
  document.getElementById("pred-controls").hidden = false;
  apply();
})();
