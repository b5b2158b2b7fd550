// Keyboard labelling for every task kind. A control in the item declares its key with data-key: one key
// ("1") or a sequence ("c 1 2": press c, then 1, then 2). Pressing it checks a radio (a second press
// clears it when the radio has data-toggle), toggles a checkbox, focuses a text box, or clicks anything
// else. data-clears="name" on a radio unchecks the radios of that name. Enter submits, ? shows the
// instructions, Esc leaves a text box.
(function () {
  const SEQUENCE_TIMEOUT_MS = 2000;
  let pending = [];
  let pendingTimer = null;

  function controls() {
    return Array.from(document.querySelectorAll("#item [data-key]"));
  }

  function showPending() {
    const indicator = document.getElementById("key-pending");
    if (indicator) indicator.textContent = pending.length ? `${pending.join(" ")} …` : "";
  }

  function resetPending() {
    pending = [];
    clearTimeout(pendingTimer);
    showPending();
  }

  function activate(control) {
    if (control.matches("input[type=radio]")) {
      control.checked = !(control.checked && control.hasAttribute("data-toggle"));
      const clears = control.dataset.clears;
      if (clears) control.form.querySelectorAll(`input[name="${clears}"]`).forEach((i) => (i.checked = false));
    } else if (control.matches("input[type=checkbox]")) {
      control.checked = !control.checked;
    } else if (control.matches("textarea, input[type=text], select")) {
      control.focus();
      return;
    } else {
      control.click();
      return;
    }
    control.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // Returns true when the key was used: it completed a control's sequence or may still complete one.
  function pressKey(key) {
    const typed = [...pending, key].join(" ");
    const all = controls();
    const exact = all.find((c) => c.dataset.key === typed);
    if (exact) {
      resetPending();
      activate(exact);
      return true;
    }
    if (all.some((c) => c.dataset.key.startsWith(typed + " "))) {
      pending.push(key);
      clearTimeout(pendingTimer);
      pendingTimer = setTimeout(resetPending, SEQUENCE_TIMEOUT_MS);
      showPending();
      return true;
    }
    if (pending.length) {
      resetPending();
      return pressKey(key);
    }
    return false;
  }

  function submit(form) {
    if (!form || form.dataset.submitting) return;
    if (!form.reportValidity()) return;
    form.dataset.submitting = "1"; // one Enter, one request; the idempotency key covers retries
    // htmx binds a swapped-in form only when the swap settles; an Enter pressed before that would post
    // the form natively and reload the page. Binding it now is a no-op once it is bound.
    htmx.process(form);
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
  document.addEventListener("htmx:afterSwap", resetPending);

  document.addEventListener("keydown", (event) => {
    const form = document.getElementById("label-form");
    if (event.target.matches("#skip-form input[name=reason]")) {
      if (event.key === "Escape") event.target.blur(); // Enter submits the skip form natively
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
    if (event.key === "Enter" && form) {
      event.preventDefault();
      resetPending();
      submit(form);
      return;
    }
    if (event.key.length === 1 && pressKey(event.key)) event.preventDefault();
  });
})();
