// examples/status_page.cpp on cpp-httplib, for bench/compile_size.py: the same routes, page,
// JSON and events, from the same pages/status.html, status.js and status.css (the parts porthole
// provides are in status_page_tool.hpp). Not here: --token, and the server's own metrics.
//   status_page_httplib --port N [--pages DIR]   prints "listening on http://127.0.0.1:PORT/"
#include "status_page_tool.hpp"

#include <httplib.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <pthread.h>
#include <signal.h>

int main(int argc, char** argv) {
    int port = 0;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // inherited by httplib's threads and the worker

    std::string dir = status_page::pages_dir(argc, argv);
    std::string page = status_page::read_file(dir + "/status.html");
    status_page::event_hub hub;
    status_page::tool tool(hub);

    httplib::Server svr;
    svr.set_tcp_nodelay(true);
    httplib::Headers headers;
    for (auto const& [name, value] : status_page::security_headers()) headers.emplace(name, value);
    svr.set_default_headers(headers);
    svr.Get("/", [&](httplib::Request const&, httplib::Response& res) {
        res.set_content(status_page::render_page(page, tool.now()), "text/html; charset=utf-8");
    });
    svr.Get("/status.json", [&](httplib::Request const&, httplib::Response& res) {
        auto json = status_page::to_json(tool.now());
        json["subscribers"] = hub.subscribers.load();
        res.set_content(json.dump(), "application/json");
    });
    auto asset = [&dir](char const* name, char const* type) {
        return [path = dir + "/" + name, type](httplib::Request const&, httplib::Response& res) {
            res.set_content(status_page::read_file(path), type);
        };
    };
    svr.Get("/status.js", asset("status.js", "text/javascript; charset=utf-8"));
    svr.Get("/status.css", asset("status.css", "text/css; charset=utf-8"));
    svr.Get("/events", [&](httplib::Request const&, httplib::Response& res) {
        ++hub.subscribers;
        res.set_header("Cache-Control", "no-store");
        res.set_chunked_content_provider(
            "text/event-stream",
            [&hub, seen = hub.count(), started = false](size_t, httplib::DataSink& sink) mutable {
                auto event =
                    started ? hub.wait_after(seen, std::chrono::seconds(15)) : std::optional<std::string>(hub.retry);
                started = true;
                if (!event) return false;              // the server is stopping
                if (event->empty()) *event = ":\n\n";  // a comment now and then: a page that left is noticed
                return sink.write(event->data(), event->size()) && sink.is_writable();
            },
            [&hub](bool) { --hub.subscribers; });
    });
    svr.Get("/metrics", [&](httplib::Request const&, httplib::Response& res) {
        res.set_content(tool.metrics(), "text/plain; version=0.0.4");
    });
    svr.Get("/debug/vars", [&](httplib::Request const&, httplib::Response& res) {
        res.set_content(tool.vars().dump(), "application/json");
    });

    if (port == 0) port = svr.bind_to_any_port("127.0.0.1");
    else if (!svr.bind_to_port("127.0.0.1", port)) port = -1;
    if (port < 0) {
        std::perror("bind");
        return 1;
    }
    std::thread t([&] { svr.listen_after_bind(); });
    std::printf("listening on http://127.0.0.1:%d/\n", port);
    std::fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    hub.stop();
    svr.stop();
    t.join();
    return 0;
}
