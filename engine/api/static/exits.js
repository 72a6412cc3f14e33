// Exit forms (the final step's confirmation, a finished enrollment's correction): the
// employer's field is shown only for an outcome that has one (work, training). Without this
// script the field stays, and its hint says when it applies.
(function () {
  function update(select) {
    var field = document.getElementById(select.getAttribute("data-employeur-champ"));
    if (!field) {
      return;
    }
    var codes = (select.getAttribute("data-employeur") || "").split(" ");
    var shown = !select.value || codes.indexOf(select.value) !== -1;
    field.hidden = !shown;
    var input = field.querySelector("input");
    if (input) {
      input.disabled = !shown;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var selects = document.querySelectorAll("select[data-employeur]");
    Array.prototype.forEach.call(selects, function (select) {
      update(select);
      select.addEventListener("change", function () {
        update(select);
      });
    });
  });
})();
