// Operator console: live updates from Server-Sent Events, callback queue refresh.
// No framework; text is always inserted with textContent, never parsed as HTML.
"use strict";

(function () {
  const MAX_TRANSFERS = 100;
  const CALLBACK_REFRESH_MS = 30000;
  const list = document.getElementById("transfer-list");
  const template = document.getElementById("transfer-template");
  const emptyNote = document.getElementById("no-transfers");
  const status = document.getElementById("live-status");
  const activeCalls = document.getElementById("active-calls");
  // Names and words in the page language, written by the server.
  const texts = JSON.parse(document.getElementById("console-texts").textContent || "{}");
  const names = texts.departments || {};
  let active = parseInt(activeCalls.textContent, 10) || 0;

  function setActive(count) {
    active = Math.max(0, count);
    activeCalls.textContent = String(active);
  }

  function findTransfer(key) {
    for (const item of list.children) {
      if (item.dataset.key === key) return item;
    }
    return null;
  }

  function showTransfer(event) {
    const old = findTransfer(event.call_key);
    if (old) old.remove();
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.key = event.call_key;
    const department = event.department || "operator";
    item.querySelector(".department").textContent = names[department] || department;
    item.querySelector(".extension").textContent = event.extension
      ? texts.ext.replace("%(extension)s", event.extension) : "";
    item.querySelector(".language").textContent = (texts.languages || {})[event.language] || event.language || "";
    item.querySelector(".intent").textContent = (texts.intents || {})[event.intent] || event.intent || "";
    item.querySelector(".summary").textContent = event.summary || "";
    const utterances = item.querySelector(".utterances");
    for (const text of event.utterances || []) {
      const line = document.createElement("li");
      line.textContent = "\u201c" + text + "\u201d";
      utterances.appendChild(line);
    }
    list.insertBefore(item, list.firstChild);
    while (list.children.length > MAX_TRANSFERS) list.lastElementChild.remove();
    emptyNote.hidden = true;
  }

  function endCall(event) {
    const item = findTransfer(event.call_key);
    if (item) {
      item.classList.add("ended");
      item.querySelector(".state").textContent = texts.ended;
    }
  }

  function connect() {
    const source = new EventSource("/console/events");
    source.addEventListener("ready", function () {
      status.textContent = texts.live;
      status.className = "online";
    });
    source.addEventListener("call_started", function () { setActive(active + 1); });
    source.addEventListener("transfer_decided", function (message) { showTransfer(JSON.parse(message.data)); });
    source.addEventListener("transfer", function (message) { showTransfer(JSON.parse(message.data)); });
    source.addEventListener("call_ended", function (message) {
      setActive(active - 1);
      endCall(JSON.parse(message.data));
    });
    source.onerror = function () {
      // EventSource reconnects by itself (retry sent by the server).
      status.textContent = texts.reconnecting;
      status.className = "offline";
    };
  }

  async function refreshCallbacks() {
    try {
      const response = await fetch("/console/callbacks", { credentials: "same-origin" });
      if (response.ok) {
        const rows = document.getElementById("callback-rows");
        // Server-rendered, escaped by the template engine.
        rows.innerHTML = await response.text();
      }
    } catch (error) {
      // Offline for a moment: the next refresh will try again.
    }
  }

  connect();
  setInterval(refreshCallbacks, CALLBACK_REFRESH_MS);
})();
