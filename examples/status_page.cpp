// status_page: an "embedded tool" (a worker thread doing simulated jobs) with a live status page:
// uptime, counters and the recent jobs, rendered from the @@name@@ template pages/status.html and
// kept current in the browser by server-sent events: each finished job publishes the whole
// status as one `status` event on /events (porthole::event_hub); /status.json answers the same
// on request (the page asks it after a `resync`). The job counters are published variables:
// /debug/vars shows them with the server's own metrics (JSON, or a table in a browser), and
// /metrics serves them to Prometheus.
//   build/examples/status_page --port 8080 [--pages DIR]
#include <porthole/porthole.hpp>

#include <chrono>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>

struct job { unsigned id; std::string name; double seconds; bool ok; };

struct tool_state {
    std::mutex m;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    unsigned long done = 0, failed = 0;
    std::deque<job> recent;  // newest first, at most 8

    struct snapshot { long uptime; unsigned long done, failed; std::deque<job> recent; };
    snapshot now() {
        std::lock_guard lock(m);
        auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
        return {static_cast<long>(up.count()), done, failed, recent};
    }
};

std::string to_json(tool_state::snapshot const& s) {
    std::string jobs;
    for (auto const& j : s.recent) {
        jobs += (jobs.empty() ? "" : ",") + std::string("{\"id\":") + std::to_string(j.id) + ",\"name\":";
        porthole::append_json_string(jobs, j.name);
        jobs += ",\"seconds\":" + std::to_string(j.seconds) + ",\"ok\":" + (j.ok ? "true" : "false") + "}";
    }
    return "{\"uptime\":" + std::to_string(s.uptime) + ",\"done\":" + std::to_string(s.done) +
           ",\"failed\":" + std::to_string(s.failed) + ",\"jobs\":[" + jobs + "]}";
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
            hub.publish("status", to_json(state.now()));  // never waits for a browser
        }
    });
    auto app = porthole::router{
        porthole::get<"/">([&] {
            auto s = state.now();
            return page.render({{"uptime", s.uptime}, {"done", s.done}, {"failed", s.failed}, {"rows", to_rows(s)}});
        }),
        porthole::get<"/status.json">([&] {  // and how many pages are subscribed
            auto json = to_json(state.now());
            json.insert(json.size() - 1, ",\"subscribers\":" + std::to_string(hub.subscribers()));
            return porthole::response::json(std::move(json));
        }),
        porthole::get<"/events">([&](porthole::request const& req) { return hub.subscribe(req); }),
        porthole::get<"/metrics">(porthole::prometheus_metrics()),
        porthole::get<"/debug/vars">(porthole::debug_vars()),
    };
    return porthole::serve(app, porthole::options::from_command_line(argc, argv));
}
