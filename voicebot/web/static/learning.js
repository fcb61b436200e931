// Learning page: after a KB edit the router is rebuilt in the background; reload the page
// once it is, so that the "now" decision shows the change. Nothing else needs a script.
"use strict";

(function () {
  const note = document.getElementById("rebuilding");
  if (!note) return;
  const POLL_MS = 500;
  const GIVE_UP_MS = 120000;
  const started = Date.now();

  async function check() {
    try {
      const response = await fetch("/api/kb/status", { credentials: "same-origin" });
      if (response.ok) {
        const status = await response.json();
        if (status.applied_generation >= status.generation) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // The server is busy or restarting: try again.
    }
    if (Date.now() - started < GIVE_UP_MS) window.setTimeout(check, POLL_MS);
  }

  window.setTimeout(check, POLL_MS);
})();
