function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
async function refresh() {
  try {
    const s = await (await fetch("/status.json", {cache: "no-store"})).json();
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
    document.getElementById("refreshed").textContent = new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById("refreshed").textContent = "failed: " + e;
  }
}
setInterval(refresh, 2000);
