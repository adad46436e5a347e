// The status page's updates: pushed by the server over /events (server-sent events), one
// `status` event with the whole state per finished job. A file of its own, not inline: the
// page's Content-Security-Policy allows scripts from its own origin only.
function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
let pushed = 0;
function show(s, how) {
  document.getElementById("uptime").textContent = s.uptime;
  document.getElementById("done").textContent = s.done;
  document.getElementById("failed").textContent = s.failed;
  const body = document.getElementById("jobs");
  body.replaceChildren(...s.jobs.map(j => {
    const tr = document.createElement("tr");
    tr.append(cell(j.id), cell(j.name), cell(j.seconds.toFixed(6)), cell(j.ok ? "ok" : "failed"));
    if (!j.ok) tr.className = "failed";
    return tr;
  }));
  document.getElementById("refreshed").textContent = how + " " + new Date().toLocaleTimeString();
}
const events = new EventSource("/events");
events.addEventListener("status", e => {
  document.getElementById("pushed").textContent = ++pushed;
  show(JSON.parse(e.data), "pushed at");
});
// Events were missed (a slow link, or reconnecting after too long): fetch the whole state once.
events.addEventListener("resync", async () => {
  try {
    show(await (await fetch("/status.json", {cache: "no-store"})).json(), "resynchronised at");
  } catch (e) {
    document.getElementById("refreshed").textContent = "failed: " + e;
  }
});
events.onerror = () => { document.getElementById("refreshed").textContent = "reconnecting"; };
