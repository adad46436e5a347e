// The cost of a scrape: time to render /metrics (collect every thread's shard, then write
// Prometheus' text) with ROUTES route patterns recorded on each of LOOPS threads, each route
// answered with two status classes (so every route has two latency histograms).
//   metrics_scrape [--routes 200] [--loops 8] [--renders 200]
#include <porthole/porthole.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
    int routes = 200, loops = 8, renders = 200;
    for (int i = 1; i + 1 < argc; ++i) {
        std::string a = argv[i];
        if (a == "--routes") routes = std::atoi(argv[++i]);
        else if (a == "--loops") loops = std::atoi(argv[++i]);
        else if (a == "--renders") renders = std::atoi(argv[++i]);
    }
    porthole::metrics::enable();
    // Patterns as a router holds them: text that lives as long as the program.
    std::vector<std::string> patterns;
    for (int r = 0; r < routes; ++r) patterns.push_back("/api/v1/resource" + std::to_string(r) + "/{id:int}");
    // Each loop thread answers one request per route through a real connection's recording path.
    // The threads stay until all have recorded: each keeps a shard of its own, as loops do.
    std::latch recorded(loops);
    std::vector<std::thread> threads;
    for (int l = 0; l < loops; ++l) {
        threads.emplace_back([&] {
            for (auto const& p : patterns) {
                auto app = [&p](porthole::request const& req) -> porthole::response {
                    porthole::detail::note_route(p, false);
                    return req.path() == "/ok" ? porthole::response::static_text("ok") : porthole::status::not_found;
                };
                porthole::testing::client c(app);
                c.send("GET /ok HTTP/1.1\r\nHost: b\r\n\r\nGET /no HTTP/1.1\r\nHost: b\r\n\r\n");
            }
            recorded.arrive_and_wait();
        });
    }
    for (auto& t : threads) t.join();

    std::vector<double> us;
    std::size_t size = 0;
    for (int i = 0; i < renders; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        std::string out;
        porthole::metrics::write_prometheus(out, porthole::metrics::collect(), porthole::expvar::read_all());
        auto t1 = std::chrono::steady_clock::now();
        us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        size = out.size();
    }
    std::sort(us.begin(), us.end());
    auto s = porthole::metrics::collect();
    std::printf(
        "render /metrics: %d routes x 2 status classes on %d loops (%zu series merged, %zu threads): "
        "median %.0f us, fastest %.0f us, %zu bytes\n",
        routes, loops, s.routes.size(), static_cast<std::size_t>(s.threads), us[us.size() / 2], us.front(), size);
    return s.routes.size() == static_cast<std::size_t>(routes) && s.threads >= static_cast<std::size_t>(loops) ? 0 : 1;
}
