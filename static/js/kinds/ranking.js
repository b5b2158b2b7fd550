// N-way ranking. The order field's value ("C,A,B") is the one state: number keys (buttons with data-key,
// pressed through label-keys.js), Backspace, the clear key, typing and drag and drop all change it, then the
// cards, badges and hints are redrawn from it. Because the state lives in the page, an item swapped in by
// htmx needs no setup, and loading this file again with the next item does nothing.
(function () {
  if (window.rankingKindReady) return;
  window.rankingKindReady = true;

  function panel() {
    return document.getElementById("ranking");
  }

  function positions(ranking) {
    return ranking.dataset.positions.split(",");
  }

  function orderField(ranking) {
    return ranking.querySelector("input[name=order]");
  }

  function ordinal(rank) {
    return `${rank}${{ 1: "st", 2: "nd", 3: "rd" }[rank] || "th"}`;
  }

  // Known position names in the text, each once, in the order typed.
  function parse(ranking, text) {
    const allowed = positions(ranking);
    const order = [];
    for (const token of text.split(/[\s,]+/)) {
      const name = token.toUpperCase();
      if (allowed.includes(name) && !order.includes(name)) order.push(name);
    }
    return order;
  }

  function currentOrder(ranking) {
    return parse(ranking, orderField(ranking).value);
  }

  function say(ranking, message) {
    ranking.querySelector("#ranking-status").textContent = message;
  }

  function render(ranking, order, { rewriteField = true } = {}) {
    const field = orderField(ranking);
    if (rewriteField) field.value = order.join(",");
    const chips = new Map(Array.from(ranking.querySelectorAll(".rank-chip"), (chip) => [chip.dataset.position, chip]));
    const list = ranking.querySelector(".ranking-order");
    const pool = ranking.querySelector(".ranking-pool");
    const missing = positions(ranking).filter((name) => !order.includes(name));
    order.forEach((name) => list.appendChild(chips.get(name)));
    missing.forEach((name) => pool.appendChild(chips.get(name)));
    document.querySelectorAll("#item article.candidate").forEach((article) => {
      const rank = order.indexOf(article.dataset.position);
      article.classList.toggle("ranked", rank >= 0);
      article.querySelector("[data-rank-badge]").textContent = rank >= 0 ? `ranked ${ordinal(rank + 1)}` : "";
    });
    ranking.classList.remove("attention");
    field.setCustomValidity(missing.length ? `Rank every response: ${missing.join(", ")} not ranked yet.` : "");
    say(
      ranking,
      missing.length
        ? `Next: the ${ordinal(order.length + 1)} place. Not ranked yet: ${missing.join(", ")}.`
        : "All ranked. Enter submits.",
    );
  }

  function place(ranking, name) {
    const order = currentOrder(ranking);
    if (order.includes(name)) {
      say(ranking, `${name} is already ranked ${ordinal(order.indexOf(name) + 1)}. Backspace undoes the last one.`);
      return;
    }
    render(ranking, [...order, name]);
  }

  document.addEventListener("click", (event) => {
    const ranking = panel();
    if (!ranking) return;
    const placeButton = event.target.closest("#item [data-place]");
    if (placeButton) place(ranking, placeButton.dataset.place);
    else if (event.target.closest("#item [data-ranking-clear]")) render(ranking, []);
  });

  document.addEventListener("keydown", (event) => {
    const ranking = panel();
    if (!ranking) return;
    if (event.target === orderField(ranking)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.key !== "Backspace" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.matches("input[type=text], textarea, select")) return;
    event.preventDefault();
    render(ranking, currentOrder(ranking).slice(0, -1));
  });

  document.addEventListener("input", (event) => {
    const ranking = panel();
    if (ranking && event.target === orderField(ranking)) {
      render(ranking, currentOrder(ranking), { rewriteField: false });
    }
  });

  // Submitting an incomplete order: say what is missing beside the ranking instead of the browser's
  // bubble, which would also move the focus into the order field and swallow the next number keys.
  document.addEventListener(
    "invalid",
    (event) => {
      const ranking = panel();
      if (!ranking || event.target !== orderField(ranking)) return;
      event.preventDefault();
      say(ranking, event.target.validationMessage || "Rank every response before submitting.");
      ranking.classList.add("attention");
    },
    true,
  );

  // Drag and drop: a card dropped on the ranked list goes where it was dropped; dropped on the pool, it
  // is no longer ranked.
  let dragged = null;

  document.addEventListener("dragstart", (event) => {
    const chip = event.target.closest?.("#ranking .rank-chip");
    if (!chip) return;
    dragged = chip.dataset.position;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged);
    chip.classList.add("dragging");
  });

  document.addEventListener("dragend", (event) => {
    event.target.closest?.(".rank-chip")?.classList.remove("dragging");
    dragged = null;
  });

  document.addEventListener("dragover", (event) => {
    if (dragged && event.target.closest?.("#ranking [data-drop]")) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
    }
  });

  document.addEventListener("drop", (event) => {
    const ranking = panel();
    const zone = event.target.closest?.("#ranking [data-drop]");
    if (!ranking || !zone || !dragged) return;
    event.preventDefault();
    const order = currentOrder(ranking).filter((name) => name !== dragged);
    if (zone.dataset.drop === "order") {
      const before = Array.from(zone.querySelectorAll(".rank-chip")).find((chip) => {
        const box = chip.getBoundingClientRect();
        return chip.dataset.position !== dragged && event.clientY < box.top + box.height / 2;
      });
      const at = before ? order.indexOf(before.dataset.position) : order.length;
      order.splice(at, 0, dragged);
    }
    dragged = null;
    render(ranking, order);
  });
})();
