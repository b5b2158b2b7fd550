// The open item's lease. The page's heartbeat renews it; when the heartbeat is refused (the lease ran out
// and others filled the item meanwhile, as after a laptop's sleep), the page says so at once rather than
// at the next submit. A heartbeat that got no answer (server restarting, network down) is left to the next.
document.addEventListener("htmx:afterRequest", (event) => {
  const status = event.detail.xhr.status;
  if (!event.detail.elt.matches("[data-heartbeat]") || status < 400 || status >= 500) return;
  const notice = document.getElementById("lease-lost");
  if (notice) notice.hidden = false;
});
