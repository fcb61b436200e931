// Operator console: cards and callback rows arrive over Server-Sent Events, rendered by the
// server in the page language (escaped by its template engine); the script only places
// them and tells screen readers through the page's aria-live region.
"use strict";

(function () {
  const MAX_TRANSFERS = 200;
  const list = document.getElementById("transfer-list");
  const emptyNote = document.getElementById("no-transfers");
  const rows = document.getElementById("callback-rows");
  const status = document.getElementById("live-status");
  const activeCalls = document.getElementById("active-calls");
  const announcer = document.getElementById("announcer");
  const texts = JSON.parse(document.getElementById("console-texts").textContent || "{}");
  let active = parseInt(activeCalls.textContent, 10) || 0;
  let connectedOnce = false;

  function setActive(count) {
    active = Math.max(0, count);
    activeCalls.textContent = String(active);
  }

  function announce(text) {
    if (!text) return;
    // A change of text is what a live region reads out; clear first so a repeat is read too.
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function fragment(html, tag) {
    const holder = document.createElement(tag);
    holder.innerHTML = html;  // server-rendered and escaped
    return holder.firstElementChild;
  }

  function findByKey(parent, key) {
    for (const item of parent.children) {
      if (item.dataset.key === key) return item;
    }
    return null;
  }

  function showCard(data) {
    const card = fragment(data.html, "ol");
    if (!card) return;
    const old = findByKey(list, data.key);
    if (old && !data.announce) {
      old.replaceWith(card);  // the same decision, now sent: keep its place
    } else {
      if (old) old.remove();
      list.insertBefore(card, list.firstChild);
    }
    while (list.children.length > MAX_TRANSFERS) list.lastElementChild.remove();
    emptyNote.hidden = true;
    announce(data.announce);
  }

  function endCard(data) {
    const card = findByKey(list, data.key);
    if (card) {
      card.classList.add("ended");
      card.querySelector(".state").textContent = data.state;
    }
  }

  function showCallback(data) {
    const row = fragment(data.html, "tbody");
    if (!row || findByKey(rows, data.key)) return;
    const empty = rows.querySelector("tr.empty");
    if (empty) empty.remove();
    rows.appendChild(row);  // oldest first: a new request goes last
    announce(data.announce);
  }

  async function refreshCallbacks() {
    try {
      const response = await fetch(rows.dataset.source, { credentials: "same-origin" });
      // A session that ended answers with the sign-in page: never put it in the table.
      if (response.ok && !response.redirected) rows.innerHTML = await response.text();
    } catch (error) {
      // Offline for a moment: the next connection refreshes again.
    }
  }

  function connect() {
    const source = new EventSource(texts.events);
    source.addEventListener("ready", function () {
      status.textContent = texts.live;
      status.className = "online";
      // After a lost connection, requests may have come meanwhile.
      if (connectedOnce) refreshCallbacks();
      connectedOnce = true;
    });
    source.addEventListener("card", function (message) { showCard(JSON.parse(message.data)); });
    source.addEventListener("ended", function (message) {
      setActive(active - 1);
      endCard(JSON.parse(message.data));
    });
    source.addEventListener("started", function () { setActive(active + 1); });
    source.addEventListener("callback", function (message) {
      showCallback(JSON.parse(message.data));
    });
    source.addEventListener("session_ended", function (message) {
      source.close();
      status.textContent = JSON.parse(message.data).message || texts.reconnecting;
      status.className = "offline";
      window.location.reload();  // the server sends a signed-out reader to the sign-in page
    });
    source.onerror = function () {
      // EventSource reconnects by itself (retry sent by the server).
      status.textContent = texts.reconnecting;
      status.className = "offline";
    };
  }

  connect();
})();
