// status_page: an "embedded tool" (a worker thread doing simulated jobs) with a live status page:
// uptime, counters and the recent jobs, rendered from the @@name@@ template pages/status.html and
// kept current in the browser by server-sent events: each finished job publishes the whole
// status as one `status` event on /events (porthole::event_hub); /status.json answers the same
// on request (the page asks it after a `resync`). nlohmann/json writes both. The job counters are
// published variables: /debug/vars shows them with the server's own metrics (JSON, or a table in
// a browser), and /metrics serves them to Prometheus.
//   build/examples/status_page --port 8080 [--pages DIR] [--token]
// --token: only the person who started it gets in. It prints
//   listening on http://127.0.0.1:8080/?token=...
// and a browser that opens that URL gets a session cookie (sent by the page's EventSource and
// fetches too); everyone else gets 401, on every route.
#include <porthole/porthole.hpp>

#include <chrono>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>

struct job {
    unsigned id;
    std::string name;
    double seconds;
    bool ok;
};

struct tool_state {
    std::mutex m;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    unsigned long done = 0, failed = 0;
    std::deque<job> recent;  // newest first, at most 8

    struct snapshot {
        long uptime;
        unsigned long done, failed;
        std::deque<job> recent;
    };
    snapshot now() {
        std::lock_guard lock(m);
        auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
        return {static_cast<long>(up.count()), done, failed, recent};
    }
};

nlohmann::json to_json(tool_state::snapshot const& s) {
    auto jobs = nlohmann::json::array();
    for (auto const& j : s.recent)
        jobs.push_back({{"id", j.id}, {"name", j.name}, {"seconds", j.seconds}, {"ok", j.ok}});
    return {{"uptime", s.uptime}, {"done", s.done}, {"failed", s.failed}, {"jobs", std::move(jobs)}};
}

porthole::html to_rows(tool_state::snapshot const& s) {
    std::string rows;
    for (auto const& j : s.recent) {
        rows += "<tr><td>" + std::to_string(j.id) + "</td><td>";
        porthole::html_escape(j.name, rows);
        rows += "</td><td>" + std::to_string(j.seconds) + "</td><td>" + (j.ok ? "ok" : "failed") + "</td></tr>";
    }
    return porthole::html(std::move(rows));
}

int main(int argc, char** argv) {
    std::string dir(porthole::command_line_value(argc, argv, "--pages").value_or(PORTHOLE_EXAMPLES_DIR "/pages"));
    auto page = porthole::load_template(dir + "/status.html");
    tool_state state;
    porthole::event_hub hub({.retry = std::chrono::seconds(1)});  // outlives the worker that publishes
    // Published variables: counted by the worker, read by /debug/vars and /metrics.
    auto jobs_done = porthole::expvar::publish_counter("jobs_done");
    auto jobs_failed = porthole::expvar::publish_counter("jobs_failed");
    auto last_job_seconds = porthole::expvar::publish_gauge("last_job_seconds");
    porthole::expvar::publish("uptime_seconds", [&state] { return state.now().uptime; });
    porthole::expvar::publish("status_subscribers", [&hub] { return hub.subscribers(); });
    std::jthread worker([&](std::stop_token stop) {  // the tool's real work would go here
        std::mt19937 rng(42);
        for (unsigned id = 1; !stop.stop_requested(); ++id) {
            double seconds = std::uniform_real_distribution<double>(0.1, 0.6)(rng);
            std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
            {
                std::lock_guard lock(state.m);
                bool ok = rng() % 10 != 0;
                (ok ? state.done : state.failed)++;
                (ok ? jobs_done : jobs_failed).add();
                last_job_seconds.set(seconds);
                state.recent.push_front({id, "job-" + std::to_string(id), seconds, ok});
                if (state.recent.size() > 8) state.recent.pop_back();
            }
            hub.publish("status", to_json(state.now()).dump());  // never waits for a browser
        }
    });
    auto asset = [dir](char const* name, char const* type) {
        return [path = dir + "/" + name, type] { return porthole::response::file(path, type); };
    };
    auto routes = porthole::router{
        porthole::get<"/">([&] {
            auto s = state.now();
            return page.render({{"uptime", s.uptime}, {"done", s.done}, {"failed", s.failed}, {"rows", to_rows(s)}});
        }),
        porthole::get<"/status.json">([&] {  // and how many pages are subscribed
            auto json = to_json(state.now());
            json["subscribers"] = hub.subscribers();
            return json;
        }),
        porthole::get<"/status.js">(asset("status.js", "text/javascript; charset=utf-8")),
        porthole::get<"/status.css">(asset("status.css", "text/css; charset=utf-8")),
        porthole::get<"/events">([&](porthole::request const& req) { return hub.subscribe(req); }),
        porthole::get<"/metrics">(porthole::prometheus_metrics()),
        porthole::get<"/debug/vars">(porthole::debug_vars()),  // its script and style are files: CSP 'self' holds
    };

    auto command_line = porthole::server_options::from_command_line(
        argc, argv,
        {{"--pages DIR", "the folder of the page's template, script and style (default: the examples')"},
         {"--token", "answer only requests with the access token the start-up line gives"}});
    if (!command_line.ok()) return command_line.report();  // --help, or a malformed value
    auto& opts = command_line.options;
    bool token_on = porthole::command_line_flag(argc, argv, "--token");
    porthole::access_token token;
    if (token_on) opts.announce_query = token.query();
    auto app = porthole::layers{
        porthole::security_headers{},  // the page's script and style are files of its own: CSP 'self' holds
        porthole::when([token_on](porthole::request const&) { return token_on; }, std::move(token)),
    }(std::move(routes));
    return porthole::serve(app, std::move(opts));
}
