// The server tests' options and application (test_server.cpp, test_server_stepping.cpp).
#pragma once

#include <porthole/server.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

namespace test_server {

inline porthole::server_options test_options(unsigned threads = 2) {
    porthole::server_options o;
    o.port = 0;
    o.threads = threads;
    return o;
}

// The handling thread, as text: which loop answered.
inline std::string thread_name() { return std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())); }

// Paths the tests use; every handler is safe to call from several threads.
inline porthole::response test_app(porthole::request const& r) {
    using porthole::response;
    auto p = r.path();
    if (p == "/") return response::text("Hello, World!");
    if (p.starts_with("/echo/")) return response::text(std::string(p.substr(6)));
    if (p == "/slow") {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        return response::text("slow");
    }
    if (p == "/big") return response::text(std::string(8u << 20, 'b'));
    if (p == "/throw") throw std::runtime_error("handler failed on purpose");
    if (p == "/thread") return response::text(thread_name());
    return response(porthole::status::not_found);
}

// Runs f(); a hang is the failure: when f has not returned within `limit`, the test program
// ends (status 1, saying which) rather than waiting for the test runner's timeout.
template <class F>
void within(std::chrono::seconds limit, char const* what, F f) {
    std::atomic<bool> done{false};
    std::thread watchdog([&] {
        auto until = std::chrono::steady_clock::now() + limit;
        while (!done.load() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (done.load()) return;
        std::fprintf(stderr, "hung for %lld s: %s\n", static_cast<long long>(limit.count()), what);
        std::fflush(stderr);
        std::_Exit(1);
    });
    struct finish {  // also when f throws (a failed REQUIRE)
        std::atomic<bool>& done;
        std::thread& watchdog;
        ~finish() {
            done = true;
            watchdog.join();
        }
    } finishing{done, watchdog};
    f();
}

// "/stream": `pieces` pieces of 100 bytes, a millisecond each (slower than any reader, who keeps
// up, so the socket never fills); anything else: "small". `produced` counts the pieces made.
struct slow_stream_app {
    static constexpr int pieces = 2000;  // two seconds in all
    std::atomic<int> produced{0};

    porthole::response operator()(porthole::request const& req) {
        using porthole::response;
        if (req.path() != "/stream") return response::text("small");
        auto n = std::make_shared<int>(0);
        return response::stream([n, this]() -> std::optional<std::string> {
            if (*n == pieces) return std::nullopt;
            ++*n;
            ++produced;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            return std::string(100, 's');
        });
    }
};

}  // namespace test_server
