#!/usr/bin/env python3
"""What does a compressed response cost, against nginx's gzip at the same level? One run,
interleaved, medians of rounds.

The status page of examples/status_page (its HTML, about 1.2 KB, taken from a running
status_page once; and the same page with forty times the rows, as a long job list makes it) is
written to a folder and served by
  porthole  build/examples/file_server --gzip --gzip-level L (one event loop)
  nginx     1 worker, `gzip on; gzip_comp_level L`, the same folder
and each is driven with `wrk -t1 -c8` asking for gzip, and without Accept-Encoding for the cost of
the same response uncompressed. Printed per file: the server's CPU time per response (utime+stime
from /proc/PID/stat over the responses wrk counted), the compressed size and ratio (compressed /
original) each server sends, and porthole's CPU against nginx's.

  bench/compression_bench.py [--build build] [--level 6] [--duration 3] [--rounds 5]
"""
import argparse
import gzip
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from server_bench import ROOT, WRK_LUA, Server, free_port, run_wrk  # noqa: E402

NGINX_CONF = """\
worker_processes 1;
master_process off;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log error;
events {{ worker_connections 1024; use epoll; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    types {{ text/html html; }}
    charset utf-8;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    gzip on;
    gzip_comp_level {level};
    gzip_min_length 1024;
    gzip_vary on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def status_page_files(build, folder):
    """The rendered page from a status_page that ran for a few seconds (so that its table of recent
    jobs is full), and the same page with forty times the rows."""
    proc = subprocess.Popen([str(build / "examples" / "status_page"), "--port", "0", "--threads", "1"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        base = line.split("listening on ", 1)[1].strip()
        time.sleep(4)
        with urllib.request.urlopen(base, timeout=10) as r:
            page = r.read()
        (folder / "status.html").write_bytes(page)
        start, end = page.index(b'<tbody id="jobs">') + 17, page.index(b"</tbody>")
        (folder / "long.html").write_bytes(page[:start] + page[start:end] * 40 + page[end:])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def compressed_size(port, name):
    req = urllib.request.Request("http://127.0.0.1:%d/%s" % (port, name), headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
        encoding = r.headers.get("Content-Encoding")
    return len(body), encoding, gzip.decompress(body) if encoding == "gzip" else body


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--level", type=int, default=6, help="gzip level for both servers")
    p.add_argument("--duration", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    build = pathlib.Path(args.build)
    lua = str(WRK_LUA)

    www = pathlib.Path(tempfile.mkdtemp(prefix="porthole-compress-"))
    status_page_files(build, www)
    files = ["status.html", "long.html"]
    originals = {name: (www / name).stat().st_size for name in files}
    tmp = tempfile.mkdtemp(prefix="porthole-nginx-")
    port = free_port()
    conf = pathlib.Path(tmp) / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=tmp, port=port, level=args.level, root=www))
    servers = [
        Server("porthole", [str(build / "examples" / "file_server"), "--root", str(www), "--port", "0",
                            "--threads", "1", "--gzip", "--gzip-level", str(args.level)]),
        Server("nginx", [shutil.which("nginx") or "/usr/sbin/nginx", "-p", tmp, "-c", str(conf)], port=port, tmpdir=tmp),
    ]
    modes = [("gzip", ["-H", "Accept-Encoding: gzip"]), ("identity", [])]
    results, sizes = {}, {}
    try:
        for s in servers:
            s.start()
            for name in files:
                size, encoding, plain = compressed_size(s.port, name)
                if encoding != "gzip" or plain != (www / name).read_bytes():
                    sys.exit("%s did not send %s gzip-compressed and whole" % (s.name, name))
                sizes[(s.name, name)] = size
        for rnd in range(args.rounds):
            for name in files:
                for mode, headers in modes:
                    order = servers if rnd % 2 == 0 else servers[::-1]
                    for s in order:
                        r = run_wrk(s, ("", 8, headers, {}), args.duration, lua, "/" + name)
                        results.setdefault((s.name, name, mode), []).append(r)
            print("round %d of %d done" % (rnd + 1, args.rounds), file=sys.stderr)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(www, ignore_errors=True)

    print("gzip level %d; wrk -t1 -c8, %gs per run, median of %d interleaved rounds; CPU = server "
          "utime+stime per response" % (args.level, args.duration, args.rounds))
    print("load average at the end: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    for name in files:
        print("\n## %s (%d bytes)" % (name, originals[name]))
        print("%-9s %12s %14s %12s %12s %10s" % ("server", "CPU µs gzip", "CPU µs identity", "gzip bytes",
                                                 "ratio", "errors"))
        med = {}
        for s in servers:
            for mode, _ in modes:
                runs = [r for r in results.get((s.name, name, mode), []) if r]
                med[(s.name, mode)] = statistics.median(r["cpu_us"] for r in runs) if runs else float("nan")
                med[(s.name, mode, "errors")] = sum(r["errors"] for r in runs)
        for s in servers:
            size = sizes[(s.name, name)]
            print("%-9s %12.2f %14.2f %12d %12.3f %10d" % (
                s.name, med[(s.name, "gzip")], med[(s.name, "identity")], size, size / originals[name],
                med[(s.name, "gzip", "errors")] + med[(s.name, "identity", "errors")]))
        print("porthole / nginx, CPU per gzip response: %.2fx; per compression (gzip minus identity): %.2fx" % (
            med[("porthole", "gzip")] / med[("nginx", "gzip")],
            (med[("porthole", "gzip")] - med[("porthole", "identity")]) /
            (med[("nginx", "gzip")] - med[("nginx", "identity")])))


if __name__ == "__main__":
    main()
