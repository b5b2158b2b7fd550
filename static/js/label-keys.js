// Keyboard labelling for every task kind. A control in the item declares its key with data-key: one key
// ("1") or a sequence ("c 1 2": press c, then 1, then 2). Pressing it checks a radio (a second press
// clears it when the radio has data-toggle), toggles a checkbox, focuses a text box, or clicks anything
// else. data-clears="name" on a radio unchecks the radios of that name. Enter submits, ? shows the
// instructions, Esc leaves a text box.
//
// No key is lost or applied to the wrong item. While the live item is about to be replaced (from the
// moment its form is sent until htmx has swapped in the next item and bound it) and before htmx has bound
// the page at all, keys are queued; once the next item is bound they are replayed on it, in order, as if
// pressed then. This file is loaded without `defer`, so it listens before the page has finished loading.
(function () {
  const SEQUENCE_TIMEOUT_MS = 2000;
  const QUEUED_KEYS = new Set(["Enter", "Escape", "Backspace"]); // besides every printable key
  let pending = [];
  let pendingTimer = null;
  let bound = false; // htmx has bound the live item, and no request that replaces it is in flight
  let queued = [];

  function liveItem() {
    return document.getElementById("item");
  }

  function controls() {
    const item = liveItem();
    return item ? Array.from(item.querySelectorAll("[data-key]")) : [];
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
    if (form && form.reportValidity()) form.requestSubmit();
  }

  // What the browser itself does with a key in a text box, for a replayed key (an event made by a script
  // has no default action). Enter in a textarea only gets here with Shift: without, it submits.
  function typeInto(target, key) {
    if (!target.matches("textarea, input[type=text]")) return;
    if (key === "Enter" && !target.matches("textarea")) {
      target.form?.requestSubmit();
      return;
    }
    if (key === "Backspace") {
      const { selectionStart: start, selectionEnd: end } = target;
      target.setRangeText("", start === end ? Math.max(0, start - 1) : start, end, "end");
    } else if (key === "Enter" || key.length === 1) {
      target.setRangeText(key === "Enter" ? "\n" : key, target.selectionStart, target.selectionEnd, "end");
    } else {
      return;
    }
    target.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function replayQueued() {
    while (bound && queued.length) {
      const { key, shiftKey } = queued.shift();
      const target = document.activeElement || document.body;
      const replayed = new KeyboardEvent("keydown", { key, shiftKey, bubbles: true, cancelable: true });
      if (target.dispatchEvent(replayed)) typeInto(target, key);
    }
  }

  function itemBound() {
    bound = true;
    resetPending();
    replayQueued();
  }

  function replacesItem(event) {
    return event.detail.target && event.detail.target.id === "item";
  }

  // Before any other listener: while the item is not bound, the key waits for the next one.
  window.addEventListener(
    "keydown",
    (event) => {
      if (bound || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
      if (event.key.length !== 1 && !QUEUED_KEYS.has(event.key)) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      queued.push({ key: event.key, shiftKey: event.shiftKey });
    },
    true,
  );

  document.addEventListener("htmx:beforeRequest", (event) => {
    if (replacesItem(event)) bound = false;
  });

  // htmx:load comes once htmx has bound new content: the page (body) or a swapped-in item.
  document.addEventListener("htmx:load", (event) => {
    if (event.target === document.body || event.target.id === "item") itemBound();
  });

  // A request that got no answer to swap in (server error, network down) leaves the item as it was: the
  // keys pressed since were meant for the next item, so they are dropped, and a retry is offered.
  document.addEventListener("htmx:afterRequest", (event) => {
    if (!replacesItem(event) || !event.detail.target.isConnected) return;
    queued = [];
    itemBound();
    const alert = document.getElementById("submit-failed");
    if (alert) alert.hidden = false;
  });

  // Without htmx (it failed to load) the forms post as plain HTML forms.
  window.addEventListener("load", () => {
    if (!window.htmx) itemBound();
  });

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
