// Node's built-in fetch (undici, a strict HTTP/1.1 parser) against echo and rest_api.
//   node fetch_check.mjs ECHO_BASE REST_BASE
// Prints "ok N checks" and exits 0, or prints the first failure (with undici's cause, e.g. a
// parser error code) and exits 1.
import assert from "node:assert/strict";

const [echo, rest] = process.argv.slice(2);
let checks = 0;
const check = (cond, what) => { assert.ok(cond, what); ++checks; };
const eq = (a, b, what) => { assert.deepEqual(a, b, what); ++checks; };

async function main() {
  // echo: GET, HEAD, POST with bodies of several sizes, header echo.
  let r = await fetch(echo + "/");
  eq([r.status, await r.text()], [200, "OK"], "GET /");
  eq(r.headers.get("content-length"), "2", "GET / length");

  r = await fetch(echo + "/", { method: "HEAD" });
  eq([r.status, r.headers.get("content-length"), await r.text()], [200, "2", ""], "HEAD /");

  for (const size of [0, 1, 1000, 70000, 300000]) {
    const body = Buffer.alloc(size, 0);
    for (let i = 0; i < size; ++i) body[i] = (i * 31 + 7) & 0xff;
    r = await fetch(echo + "/", { method: "POST", body, headers: { "content-type": "application/octet-stream" } });
    const got = Buffer.from(await r.arrayBuffer());
    eq(r.status, 200, "POST / " + size);
    check(got.equals(body), "POST / body of " + size + " bytes came back intact");
    eq(r.headers.get("x-body-length"), String(size), "X-Body-Length " + size);
  }

  // A streamed (chunked) request body.
  const parts = ["alpha ", "beta ", "gamma"];
  const stream = new ReadableStream({
    pull(c) { const p = parts.shift(); if (p === undefined) c.close(); else c.enqueue(new TextEncoder().encode(p)); },
  });
  r = await fetch(echo + "/", { method: "POST", body: stream, duplex: "half" });
  eq([r.status, await r.text()], [200, "alpha beta gamma"], "chunked POST /");

  r = await fetch(echo + "/echo", { method: "POST", headers: { "x-probe": "fetch 1" }, body: "b" });
  check((await r.text()).toLowerCase().includes("x-probe: fetch 1\n"), "POST /echo shows the sent header");

  r = await fetch(echo + "/nothing");
  eq([r.status, await r.text()], [404, ""], "404 has an empty body");

  // Many sequential requests: undici keeps the connection alive; /count proves all arrived.
  const before = Number(await (await fetch(echo + "/count")).text());
  for (let i = 0; i < 300; ++i) {
    r = await fetch(echo + "/", { method: i % 2 ? "POST" : "GET", body: i % 2 ? "n" + i : undefined });
    eq(await r.text(), i % 2 ? "n" + i : "OK", "sequential request " + i);
  }
  const after = Number(await (await fetch(echo + "/count")).text());
  eq(after - before, 301, "the echo counted every sequential request");

  // rest_api: a JSON round trip through the whole CRUD.
  r = await fetch(rest + "/items", { method: "POST", headers: { "content-type": "application/json" },
                                     body: JSON.stringify({ name: "fetch \u00e9 \"q\" \\ \n" }) });
  eq(r.status, 201, "POST /items");
  const item = await r.json();
  eq(item.name, "fetch \u00e9 \"q\" \\ \n", "the name survived the JSON round trip");
  eq(r.headers.get("location"), "/items/" + item.id, "Location");
  eq(await (await fetch(rest + "/items/" + item.id)).json(), item, "GET the item");
  r = await fetch(rest + "/items/" + item.id, { method: "PUT", headers: { "content-type": "application/json" },
                                              body: JSON.stringify({ name: "renamed" }) });
  eq([r.status, await r.json()], [200, { id: item.id, name: "renamed" }], "PUT");
  eq(await (await fetch(rest + "/items")).json(), [{ id: item.id, name: "renamed" }], "GET /items");
  r = await fetch(rest + "/items/" + item.id, { method: "DELETE" });
  eq([r.status, await r.text()], [204, ""], "DELETE");
  r = await fetch(rest + "/items/" + item.id);
  eq(r.status, 404, "gone");
  await r.arrayBuffer();
  r = await fetch(rest + "/items", { method: "PATCH", body: "{}" });
  eq(r.status, 405, "PATCH /items");
  check(r.headers.get("allow").includes("POST"), "Allow names POST");
  await r.arrayBuffer();
  r = await fetch(rest + "/items", { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
  eq([r.status, typeof (await r.json()).error], [400, "string"], "bad body");
  r = await fetch(rest + "/items", { method: "POST", headers: { "content-type": "application/json" },
                                     body: JSON.stringify({ name: "x".repeat(5000) }) });
  eq(r.status, 413, "too large");
  await r.arrayBuffer();
  r = await fetch(rest + "/items", { method: "POST", body: JSON.stringify({ name: "text/plain" }) });
  eq(r.status, 415, "fetch's default Content-Type for a string body is not JSON");
  await r.arrayBuffer();
  for (let i = 0; i < 100; ++i) {
    r = await fetch(rest + "/items", { method: "POST", headers: { "content-type": "application/json" },
                                       body: JSON.stringify({ name: "i" + i }) });
    eq(r.status, 201, "POST " + i);
    await r.arrayBuffer();
  }
  eq((await (await fetch(rest + "/items")).json()).length, 100, "100 items");
}

main().then(() => { console.log("ok " + checks + " checks"); },
            (e) => { console.log("FAILED after " + checks + " checks: " + (e.stack || e));
                     if (e.cause) console.log("cause: " + (e.cause.stack || e.cause) + " code=" + e.cause.code);
                     process.exitCode = 1; });
