// What examples/status_page.cpp gets from porthole, written by hand for the peers' versions of it
// (bench/status_page_httplib.cpp, bench/status_page_crow.cpp): the same simulated tool and its
// data, the @@name@@ template of examples/pages/status.html, a hub that hands each finished job's
// status to the pages subscribed to /events, and the published variables of /metrics and
// /debug/vars. nlohmann/json writes the JSON, as in porthole's.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace status_page {

struct job {
    unsigned id;
    std::string name;
    double seconds;
    bool ok;
};

struct snapshot {
    long uptime;
    unsigned long done, failed;
    double last_seconds;
    std::deque<job> recent;  // newest first, at most 8
};

inline std::string read_file(std::string const& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline void html_escape(std::string_view text, std::string& out) {
    for (char c : text) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
}

// @@name@@ is replaced by the value escaped, @@!name@@ by the value as it is (markup).
inline std::string render(std::string_view page, std::map<std::string, std::string, std::less<>> const& values) {
    std::string out;
    for (;;) {
        auto open = page.find("@@");
        auto close = open == page.npos ? page.npos : page.find("@@", open + 2);
        if (close == page.npos) return out.append(page);
        out.append(page.substr(0, open));
        auto name = page.substr(open + 2, close - open - 2);
        bool raw = name.starts_with('!');
        if (raw) name.remove_prefix(1);
        auto value = values.find(name);
        if (value != values.end()) raw ? void(out += value->second) : html_escape(value->second, out);
        page.remove_prefix(close + 2);
    }
}

inline nlohmann::json to_json(snapshot const& s) {
    auto jobs = nlohmann::json::array();
    for (auto const& j : s.recent)
        jobs.push_back({{"id", j.id}, {"name", j.name}, {"seconds", j.seconds}, {"ok", j.ok}});
    return {{"uptime", s.uptime}, {"done", s.done}, {"failed", s.failed}, {"jobs", std::move(jobs)}};
}

inline std::string to_rows(snapshot const& s) {
    std::string rows;
    for (auto const& j : s.recent) {
        rows += "<tr><td>" + std::to_string(j.id) + "</td><td>";
        html_escape(j.name, rows);
        rows += "</td><td>" + std::to_string(j.seconds) + "</td><td>" + (j.ok ? "ok" : "failed") + "</td></tr>";
    }
    return rows;
}

inline std::string render_page(std::string_view page, snapshot const& s) {
    return render(page, {{"uptime", std::to_string(s.uptime)},
                         {"done", std::to_string(s.done)},
                         {"failed", std::to_string(s.failed)},
                         {"rows", to_rows(s)}});
}

// The latest `status` event, numbered, for the pages that wait on /events (wait_after).
class event_hub {
public:
    static constexpr char const* retry = "retry: 1000\n\n";

    void publish(std::string const& data) {
        {
            std::lock_guard lock(m_);
            event_ = "event: status\ndata: " + data + "\n\n";
            ++count_;
        }
        ready_.notify_all();
    }
    // The count of events so far, to wait for the ones after it.
    unsigned long count() {
        std::lock_guard lock(m_);
        return count_;
    }
    // The event after `seen`, waiting for it up to `timeout`: empty if none came, nullopt once
    // the server stops.
    std::optional<std::string> wait_after(unsigned long& seen, std::chrono::milliseconds timeout) {
        std::unique_lock lock(m_);
        bool woken = ready_.wait_for(lock, timeout, [&] { return count_ > seen || stopped_; });
        if (stopped_) return std::nullopt;
        if (!woken) return std::string();
        seen = count_;
        return event_;
    }
    void stop() {
        {
            std::lock_guard lock(m_);
            stopped_ = true;
        }
        ready_.notify_all();
    }
    std::atomic<long> subscribers{0};

private:
    std::mutex m_;
    std::condition_variable ready_;
    std::string event_;
    unsigned long count_ = 0;
    bool stopped_ = false;
};

// The simulated tool: a worker thread doing jobs, with its counters.
class tool {
public:
    explicit tool(event_hub& hub) : hub_(hub) {}

    snapshot now() {
        std::lock_guard lock(m_);
        auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
        return {static_cast<long>(up.count()), done_, failed_, last_seconds_, recent_};
    }
    // The published variables: Prometheus' text format, and JSON for /debug/vars.
    std::string metrics() {
        auto s = now();
        std::ostringstream out;
        out << "# TYPE jobs_done counter\njobs_done " << s.done << "\n# TYPE jobs_failed counter\njobs_failed "
            << s.failed << "\n# TYPE last_job_seconds gauge\nlast_job_seconds " << s.last_seconds
            << "\n# TYPE uptime_seconds gauge\nuptime_seconds " << s.uptime
            << "\n# TYPE status_subscribers gauge\nstatus_subscribers " << hub_.subscribers << "\n";
        return out.str();
    }
    nlohmann::json vars() {
        auto s = now();
        return {{"jobs_done", s.done},
                {"jobs_failed", s.failed},
                {"last_job_seconds", s.last_seconds},
                {"uptime_seconds", s.uptime},
                {"status_subscribers", hub_.subscribers.load()}};
    }

private:
    void work(std::stop_token const& stop) {  // the tool's real work would go here
        std::mt19937 rng(42);
        for (unsigned id = 1; !stop.stop_requested(); ++id) {
            double seconds = std::uniform_real_distribution<double>(0.1, 0.6)(rng);
            std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
            {
                std::lock_guard lock(m_);
                bool ok = rng() % 10 != 0;
                (ok ? done_ : failed_)++;
                last_seconds_ = seconds;
                recent_.push_front({id, "job-" + std::to_string(id), seconds, ok});
                if (recent_.size() > 8) recent_.pop_back();
            }
            hub_.publish(to_json(now()).dump());
        }
    }

    event_hub& hub_;
    std::mutex m_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    unsigned long done_ = 0, failed_ = 0;
    double last_seconds_ = 0;
    std::deque<job> recent_;
    std::jthread worker_{[this](std::stop_token stop) { work(stop); }};  // last: starts once the rest is built
};

// The headers porthole::security_headers{} adds to every answer.
inline std::vector<std::pair<std::string, std::string>> const& security_headers() {
    static std::vector<std::pair<std::string, std::string>> const headers = {
        {"X-Content-Type-Options", "nosniff"},
        {"Content-Security-Policy",
         "default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
        {"Cross-Origin-Opener-Policy", "same-origin"},
    };
    return headers;
}

inline std::string pages_dir(int argc, char** argv) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string_view(argv[i]) == "--pages") return argv[i + 1];
    return PORTHOLE_EXAMPLES_DIR "/pages";
}

}  // namespace status_page
