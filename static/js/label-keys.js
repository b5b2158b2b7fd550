// Keyboard labelling: 1-4 choose, q/w/e strength, r rationale, Enter submit, s skip, ? instructions.
(function () {
  const CHOICE_KEYS = { "1": "a", "2": "b", "3": "tie", "4": "both_bad" };
  const STRENGTH_KEYS = { q: "slight", w: "clear", e: "strong" };

  function pick(form, name, value) {
    const input = form.querySelector(`input[name="${name}"][value="${value}"]`);
    if (input) input.checked = !(name === "strength" && input.checked);  // a second press clears strength
  }

  function submit(form) {
    if (!form || form.dataset.submitting) return;
    if (!form.reportValidity()) return;
    form.dataset.submitting = "1";  // one Enter, one request; the idempotency key covers retries
    form.requestSubmit();
  }

  // A request that got no answer (server error, network down) leaves the form as it was: allow a retry.
  document.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.elt;
    if (form.id !== "label-form" || event.detail.successful || event.detail.xhr.status === 400) return;
    delete form.dataset.submitting;
    const alert = document.getElementById("submit-failed");
    if (alert) alert.hidden = false;
  });

  document.addEventListener("keydown", (event) => {
    const form = document.getElementById("label-form");
    if (event.target.matches("#skip-form input[name=reason]")) {
      if (event.key === "Escape") event.target.blur();  // Enter submits the skip form natively
      return;
    }
    if (event.target.matches("textarea")) {
      if (event.key === "Escape") event.target.blur();
      else if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        submit(form);
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.matches("input[type=text], select")) return;
    if (event.key === "?") {
      const instructions = document.getElementById("instructions");
      if (instructions) instructions.open = !instructions.open;
      return;
    }
    if (!form) return;
    if (event.key in CHOICE_KEYS) {
      pick(form, "choice", CHOICE_KEYS[event.key]);
      if (!["a", "b"].includes(CHOICE_KEYS[event.key])) {
        form.querySelectorAll('input[name="strength"]').forEach((input) => (input.checked = false));
      }
    } else if (event.key in STRENGTH_KEYS) {
      pick(form, "strength", STRENGTH_KEYS[event.key]);
    } else if (event.key === "s") {
      event.preventDefault();
      document.querySelector("#skip-form input[name=reason]").focus();
    } else if (event.key === "r") {
      event.preventDefault();
      form.querySelector("textarea[name=rationale]").focus();
    } else if (event.key === "Enter") {
      event.preventDefault();
      submit(form);
    }
  });
})();
