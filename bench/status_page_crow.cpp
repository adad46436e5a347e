// examples/status_page.cpp on Crow, for bench/compile_size.py: the same routes, page, JSON and
// events, from the same pages/status.html, status.js and status.css (the parts porthole provides
// are in status_page_tool.hpp). Not here: --token, and the server's own metrics. Crow cannot
// stream an answer: /events answers each request with the next event (and the retry time), and
// the page's EventSource asks again for the one after. (Answering later, with res.end() from the
// worker, frees the connection inside its own completion in Crow 1.3.3.)
//   status_page_crow --port N [--pages DIR]   prints "listening on http://127.0.0.1:PORT/"
#include "status_page_tool.hpp"

#include <crow.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

// Crow's middleware: the headers porthole::security_headers{} adds, on every answer.
struct security_headers {
    struct context {};
    void before_handle(crow::request&, crow::response&, context&) {}
    void after_handle(crow::request&, crow::response& res, context&) {
        for (auto const& [name, value] : status_page::security_headers()) res.set_header(name, value);
    }
};

int main(int argc, char** argv) {
    int port = 0;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
    }
    std::string dir = status_page::pages_dir(argc, argv);
    std::string page = status_page::read_file(dir + "/status.html");
    status_page::event_hub hub;
    status_page::tool tool(hub);

    crow::App<security_headers> app;
    app.loglevel(crow::LogLevel::Warning);  // no line per request
    auto answer = [](std::string body, char const* type) {
        crow::response res(std::move(body));
        res.set_header("Content-Type", type);
        return res;
    };
    CROW_ROUTE(app, "/")
    ([&] { return answer(status_page::render_page(page, tool.now()), "text/html; charset=utf-8"); });
    CROW_ROUTE(app, "/status.json")
    ([&] {
        auto json = status_page::to_json(tool.now());
        json["subscribers"] = hub.subscribers.load();
        return answer(json.dump(), "application/json");
    });
    auto asset = [&dir](char const* name, char const* type) {
        return [path = dir + "/" + name, type] {
            crow::response res;
            res.set_static_file_info_unsafe(path, type);  // our own path, not the request's
            return res;
        };
    };
    CROW_ROUTE(app, "/status.js")(asset("status.js", "text/javascript; charset=utf-8"));
    CROW_ROUTE(app, "/status.css")(asset("status.css", "text/css; charset=utf-8"));
    CROW_ROUTE(app, "/events")
    ([&] {  // waits on one of Crow's threads: a job takes at most 0.6 s
        ++hub.subscribers;
        auto seen = hub.count();
        auto event = hub.wait_after(seen, std::chrono::seconds(15));
        --hub.subscribers;
        auto res = answer(status_page::event_hub::retry + event.value_or(""), "text/event-stream");
        res.set_header("Cache-Control", "no-store");
        return res;
    });
    CROW_ROUTE(app, "/metrics")([&] { return answer(tool.metrics(), "text/plain; version=0.0.4"); });
    CROW_ROUTE(app, "/debug/vars")([&] { return answer(tool.vars().dump(), "application/json"); });

    // Crow stops itself on SIGINT and SIGTERM, and run() then returns.
    auto running = app.bindaddr("127.0.0.1").port(static_cast<std::uint16_t>(port)).run_async();
    if (app.wait_for_server_start() != std::cv_status::no_timeout) {
        std::fprintf(stderr, "could not listen on port %d\n", port);
        return 1;
    }
    std::printf("listening on http://127.0.0.1:%d/\n", app.port());
    std::fflush(stdout);
    running.get();
    hub.stop();
    return 0;
}
