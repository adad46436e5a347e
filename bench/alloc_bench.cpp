// Allocations per keep-alive request, counted with a replaced global operator new, for a handler
// that returns a static string. After warm-up the figure must be zero.
//
//   alloc_bench [--requests N] [--check] [--metrics] [--router]   (--check: exit 1 unless zero
//   after warm-up; --metrics: with recording on, as a program that mounts /metrics; --router: the
//   handler behind a router of a few routes, so that metrics record by route pattern)
#include <porthole/connection.hpp>
#include <porthole/router.hpp>

#include "../tests/allocation_count.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {
template <class App>
int run(App& app, long requests, bool check) {
    porthole::date_source date;
    date.update(1700000000);
    porthole::connection_config config;
    porthole::connection conn(app, config, &date);
    // What wrk sends, read in one piece by the driver's buffer and fed in place.
    std::string wire = "GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n";
    std::string buffer;
    std::size_t bytes_out = 0;
    auto one = [&] {
        buffer = wire;  // same size every time: no allocation after the first
        conn.feed(std::span<char>(buffer.data(), buffer.size()));
        for (auto chunks = conn.pending_output(); !chunks.empty(); chunks = conn.pending_output()) {
            std::size_t n = 0;
            for (auto const& c : chunks) n += c.memory.size();
            bytes_out += n;
            conn.written(n);
        }
    };
    for (int i = 0; i < 100; ++i) one();  // warm-up: buffers reach their working size
    auto before = allocation_count::now();
    for (long i = 0; i < requests; ++i) one();
    auto after = allocation_count::now();
    double per_request = static_cast<double>(after - before) / static_cast<double>(requests);
    std::printf(
        "allocations per keep-alive request (static string handler, after warm-up): %.4f "
        "(%zu over %ld requests, %zu bytes written)\n",
        per_request, after - before, requests, bytes_out);
    if (conn.requests_served() != static_cast<std::size_t>(requests + 100)) {
        std::printf("error: %zu requests served\n", conn.requests_served());
        return 1;
    }
    if (check && !allocation_count::counted) return 77;  // not counted here (ThreadSanitizer): skipped
    return check && after != before ? 1 : 0;
}
}  // namespace

int main(int argc, char** argv) {
    long requests = 100000;
    bool check = false, routed = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--requests" && i + 1 < argc) requests = std::atol(argv[++i]);
        else if (a == "--check") check = true;
        else if (a == "--metrics") porthole::metrics::enable();  // recording on, as mounting /metrics does
        else if (a == "--router") routed = true;
    }
    if (routed) {
        auto app = porthole::router{
            porthole::get<"/">([] { return "Hello, World!"; }),
            porthole::get<"/users/{id:int}">([](std::int64_t id) { return std::to_string(id); }),
            porthole::post<"/users">([] { return porthole::status::created; }),
        };
        return run(app, requests, check);
    }
    auto app = [](porthole::request const&) { return "Hello, World!"; };
    return run(app, requests, check);
}
