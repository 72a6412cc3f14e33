// The pages' one script (the Content-Security-Policy allows no inline script): a form with a
// data-confirm attribute asks before it is sent (erasing personal data, disabling an account).
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
