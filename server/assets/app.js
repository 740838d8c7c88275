// Small progressive enhancement: every page works without this file.
// - filters apply as soon as a select or checkbox changes;
// - a form with data-confirm asks before it is sent (revoking a device).
document.addEventListener('change', function (e) {
  var el = e.target;
  if (el && el.hasAttribute && el.hasAttribute('data-autosubmit') && el.form) {
    el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
  }
});
document.addEventListener('submit', function (e) {
  var f = e.target;
  var msg = f && f.getAttribute && f.getAttribute('data-confirm');
  if (msg && !window.confirm(msg)) {
    e.preventDefault();
  }
});
