// porthole/metrics.hpp: what the server counts about its requests and itself, recorded per
// thread and merged when read.
//
// Recording is off until something turns it on: mounting an exposition endpoint
// (exposition.hpp: prometheus_metrics(), debug_vars()) or metrics::enable(). Until then each
// request costs one relaxed load of a flag. Once on, each thread that serves requests (an event
// loop, or a program's own driver) records into a shard of its own: plain loads and stores of
// relaxed atomics, no lock, no read-modify-write, and no allocation once a route has been seen
// on that thread. A reader (any thread) sums the shards. Defining PORTHOLE_NO_METRICS before
// including porthole removes the recording code altogether; the endpoints then show published
// variables (expvar.hpp) only.
//
// What is recorded:
//   per route pattern ("/users/{id:int}", "(none)" when no route matched), method and status
//   class: requests, latency histogram (latency_buckets, seconds), request bytes in (head and
//   body as received), response bytes out (head and body of known length); per route and
//   method: requests in flight.
//   per server: connections accepted, closed, refused at max_connections (503), closed by each
//   timeout, parse errors by status, requests per connection (histogram), bytes sent from files
//   (sendfile), blocking jobs queued and refused, live streams and their subscribers.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/compiler.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace porthole::metrics {

#if defined(PORTHOLE_NO_METRICS)
inline constexpr bool compiled_in = false;
#else
inline constexpr bool compiled_in = true;
#endif

// Upper bounds of the latency histogram, in seconds: 100 us to 10 s, roughly 1-2.5-5 per decade.
inline constexpr std::array<double, 16> latency_buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
// Upper bounds of the requests-per-connection histogram.
inline constexpr std::array<std::uint64_t, 10> requests_per_connection_buckets{1, 2, 4, 8, 16, 32, 64, 128, 256, 1024};

// The timeouts a connection can be closed by (server_options: header_timeout, body_timeout,
// keep_alive_timeout, write_timeout, response_timeout; websocket: a WebSocket peer that answered
// neither a ping within websocket_ping_interval nor a close within websocket_close_timeout; a
// ping sent on an idle WebSocket closes nothing and is not counted).
enum class timeout_kind : std::uint8_t { header, body, keep_alive, write, response, websocket };
inline constexpr std::array<std::string_view, 6> timeout_names{"header", "body",     "keep_alive",
                                                               "write",  "response", "websocket"};

// Status classes: 1xx .. 5xx.
inline constexpr std::size_t status_classes = 5;

}  // namespace porthole::metrics

namespace porthole::detail {

// A counter written by one thread and read by any: a relaxed load and store, no locked
// instruction, and no torn value for the reader.
struct owned_counter {
    std::atomic<std::uint64_t> value{0};
    void add(std::uint64_t n = 1) noexcept {
        value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    std::uint64_t get() const noexcept { return value.load(std::memory_order_relaxed); }
};

inline std::atomic<bool>& metrics_switch() noexcept {
    static std::atomic<bool> on{false};
    return on;
}

// One route pattern and method, on one thread.
struct route_series {
    static constexpr std::size_t buckets = metrics::latency_buckets.size() + 1;  // the last: +Inf
    struct by_class {
        owned_counter count, nanoseconds, bytes_in, bytes_out;
        std::array<owned_counter, buckets> latency;  // per bucket, not cumulative
    };
    // Set before the series is published, then constant. A mounted router's pattern comes
    // after the prefix it is mounted under.
    std::string_view prefix, pattern;
    std::uint8_t method = 0;
    owned_counter started, ended;  // in flight: started - ended
    std::array<by_class, metrics::status_classes> classes;

    static std::size_t bucket_of(std::uint64_t ns) noexcept {
        // Bounds in nanoseconds, from latency_buckets.
        static constexpr auto bounds = [] {
            std::array<std::uint64_t, metrics::latency_buckets.size()> b{};
            for (std::size_t i = 0; i < b.size(); ++i) {
                // NOLINTNEXTLINE(bugprone-incorrect-roundings): the values are positive, so this rounds
                b[i] = static_cast<std::uint64_t>(metrics::latency_buckets[i] * 1e9 + 0.5);
            }
            return b;
        }();
        std::size_t i = 0;
        while (i < bounds.size() && ns > bounds[i]) ++i;
        return i;
    }
};

// Everything one thread records. Allocated once per thread that records, kept for the life of
// the program (counters never go back), and handed to the next thread when its owner exits.
struct metrics_shard {
    static constexpr std::size_t table_size = 1024;  // route series per thread, at most

    // ---- request series, found by the addresses of their (static) pattern texts
    std::array<std::atomic<route_series*>, table_size> table{};
    std::vector<std::unique_ptr<route_series>> owned;  // the owner's only
    owned_counter series_dropped;                      // requests not recorded by route: the table was full

    // ---- the request under way on this thread (the owner's only)
    struct note {
        bool active = false;  // the connection is calling its application
        std::uint8_t method = 0;
        std::string_view prefix, pattern;
        route_series* series = nullptr;
    } current;
    // When this thread's event loop last woke up (monotonic_ns); 0 when no loop runs here.
    std::uint64_t loop_clock_ns = 0;

    // ---- the server's own counters
    owned_counter accepted, closed, refused;
    std::array<owned_counter, metrics::timeout_names.size()> timeouts;  // by metrics::timeout_kind
    std::array<owned_counter, 200> parse_errors;                        // by status - 400
    std::array<owned_counter, metrics::requests_per_connection_buckets.size() + 1> requests_per_connection;
    owned_counter requests_per_connection_sum;
    owned_counter sendfile_bytes;
    owned_counter streams_opened, streams_closed, subscribers_added, subscribers_removed;

    std::atomic<bool> in_use{true};

    // The series for (prefix, pattern, method), made on first sight; nullptr when full.
    route_series* series(std::string_view prefix, std::string_view pattern, std::uint8_t method) {
        auto key = reinterpret_cast<std::uintptr_t>(pattern.data()) ^
                   (reinterpret_cast<std::uintptr_t>(prefix.data()) >> 3) ^ (std::uintptr_t{method} << 4);
        std::size_t i = (key * 0x9E3779B97F4A7C15ull >> 40) & (table_size - 1);
        for (std::size_t probes = 0; probes < table_size; ++probes, i = (i + 1) & (table_size - 1)) {
            route_series* s = table[i].load(std::memory_order_relaxed);  // the owner wrote it
            if (!s) return make_series(i, prefix, pattern, method);
            if (s->pattern.data() == pattern.data() && s->pattern.size() == pattern.size() &&
                s->prefix.data() == prefix.data() && s->method == method)
                return s;
        }
        return nullptr;
    }

    PORTHOLE_NOINLINE route_series* make_series(std::size_t i, std::string_view prefix, std::string_view pattern,
                                                std::uint8_t method) {
        if (owned.size() >= table_size * 3 / 4) return nullptr;  // keep probes short
        try {
            owned.reserve(table_size * 3 / 4);
            auto s = std::make_unique<route_series>();
            s->prefix = prefix;
            s->pattern = pattern;
            s->method = method;
            table[i].store(s.get(), std::memory_order_release);  // readers see it whole
            owned.push_back(std::move(s));
            return owned.back().get();
        } catch (...) {
            return nullptr;
        }
    }
};

struct metrics_registry {
    std::mutex mutex;
    std::vector<std::unique_ptr<metrics_shard>> shards;
    // Blocking jobs (worker_pool.hpp): changed under the pool's own lock, read by anyone.
    std::atomic<std::int64_t> worker_queue_depth{0};
    std::atomic<std::uint64_t> worker_rejections{0};
};

// Never destroyed: threads may record while the program exits.
inline metrics_registry& metrics_shards() {
    static metrics_registry* r = new metrics_registry;
    return *r;
}

inline metrics_shard*& metrics_shard_pointer() noexcept {
    thread_local metrics_shard* shard = nullptr;
    return shard;
}

struct metrics_shard_release {
    metrics_shard* shard = nullptr;
    ~metrics_shard_release() {
        if (shard) shard->in_use.store(false, std::memory_order_release);
    }
};

PORTHOLE_NOINLINE inline metrics_shard* attach_metrics_shard() noexcept {
    try {
        auto& r = metrics_shards();
        metrics_shard* s = nullptr;
        {
            std::lock_guard lock(r.mutex);
            for (auto& p : r.shards) {
                bool free = false;
                if (!p->in_use.load(std::memory_order_acquire) &&
                    p->in_use.compare_exchange_strong(free, true, std::memory_order_acq_rel)) {
                    s = p.get();
                    break;
                }
            }
            if (!s) {
                r.shards.push_back(std::make_unique<metrics_shard>());
                s = r.shards.back().get();
            }
        }
        thread_local metrics_shard_release release;
        release.shard = s;
        metrics_shard_pointer() = s;
        return s;
    } catch (...) {
        return nullptr;
    }
}

// This thread's shard when recording is on, else nullptr.
inline metrics_shard* metrics_recorder() noexcept {
    if constexpr (!metrics::compiled_in) {
        return nullptr;
    } else {
        if (!metrics_switch().load(std::memory_order_relaxed)) [[likely]]
            return nullptr;
        metrics_shard* s = metrics_shard_pointer();
        return s ? s : attach_metrics_shard();
    }
}

// Blocking jobs (worker_pool.hpp), under the pool's lock: a shared atomic is no extra cost there.
inline void count_worker_queue(std::int64_t delta) noexcept {
    if constexpr (metrics::compiled_in) metrics_shards().worker_queue_depth.fetch_add(delta, std::memory_order_relaxed);
}
inline void count_worker_rejection() noexcept {
    if constexpr (metrics::compiled_in) metrics_shards().worker_rejections.fetch_add(1, std::memory_order_relaxed);
}

// Whether this thread's connection is calling its application with recording on.
inline bool metrics_recording_request() noexcept {
    if constexpr (metrics::compiled_in) {
        metrics_shard* s = metrics_shard_pointer();
        return s && s->current.active;
    } else {
        return false;
    }
}

// The router found the route answering this thread's current request. A mount's prefix is
// kept, and the route of the application mounted under it is appended to it when that
// application is a router too.
inline void note_route(std::string_view pattern, bool is_mount) noexcept {
    if constexpr (metrics::compiled_in) {
        metrics_shard* s = metrics_shard_pointer();
        if (!s || !s->current.active) [[likely]]
            return;
        auto& n = s->current;
        if (!n.pattern.empty() && n.prefix.empty() && n.series == nullptr) n.prefix = n.pattern;  // a mount's
        n.pattern = pattern;
        if (is_mount || n.series) return;
        n.series = s->series(n.prefix, n.pattern, n.method);
        if (n.series) n.series->started.add();
    }
}

inline std::uint64_t monotonic_ns() noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

// A connection's request in flight, when recording; the connection's thread only. Out of line,
// so that with recording off a connection's common path keeps only a flag's test.
struct request_record {
    route_series* series = nullptr;
    std::uint64_t start = 0;
    std::uint64_t bytes_in = 0;

    explicit operator bool() const noexcept { return series != nullptr; }

    // Before the application is called: the request's method and size as received.
    PORTHOLE_NOINLINE void begin(metrics_shard& m, std::uint8_t method, std::uint64_t received) noexcept {
        m.current = {};
        m.current.active = true;
        m.current.method = method;
        start = m.loop_clock_ns ? m.loop_clock_ns : monotonic_ns();
        bytes_in = received;
    }

    // The application returned (or took a responder): the route it took is known.
    PORTHOLE_NOINLINE void routed(metrics_shard& m) noexcept {
        auto& n = m.current;
        n.active = false;
        route_series* s = n.series;
        if (!s) {
            static constexpr std::string_view no_route = "(none)";
            s = n.pattern.empty() ? m.series({}, no_route, n.method) : m.series(n.prefix, n.pattern, n.method);
            if (s) s->started.add();
            else m.series_dropped.add();
        }
        series = s;
    }

    // The response is queued: status code, and bytes of head and body.
    PORTHOLE_NOINLINE void end(unsigned status, std::uint64_t bytes_out) noexcept {
        route_series* s = std::exchange(series, nullptr);
        std::uint64_t ns = monotonic_ns() - start;
        unsigned cls = (status < 100 ? 1 : status >= 600 ? 5 : status / 100) - 1;
        auto& c = s->classes[cls];
        c.count.add();
        c.nanoseconds.add(ns);
        c.latency[route_series::bucket_of(ns)].add();
        c.bytes_in.add(bytes_in);
        c.bytes_out.add(bytes_out);
        s->ended.add();
    }

    // No answer will be sent (the client left, the connection is reused or goes).
    void abandon() noexcept {
        if (series) [[unlikely]]
            std::exchange(series, nullptr)->ended.add();
    }
};

// A request refused before reaching the application, by its status.
inline void count_parse_error(unsigned status) noexcept {
    if (auto* m = metrics_recorder()) [[unlikely]] {
        if (status >= 400 && status < 600) m->parse_errors[status - 400].add();
    }
}

}  // namespace porthole::detail

namespace porthole::metrics {

// Turns recording on (mounting an endpoint does it). There is no turning it off: counters
// that stop while a program runs would mislead whoever reads them.
inline void enable() noexcept { detail::metrics_switch().store(compiled_in, std::memory_order_relaxed); }
inline bool enabled() noexcept { return detail::metrics_switch().load(std::memory_order_relaxed); }

// Hooks for anything that holds push streams open (an event hub, say): call them on the
// thread that serves the stream's connection, or on any thread (each thread counts in its own
// shard; the gauges are the sums). porthole's own live streams (stream.hpp) count themselves.
//   porthole_live_streams      = stream_opened() - stream_closed()
//   porthole_live_subscribers  = subscriber_added() - subscriber_removed()
inline void stream_opened() noexcept {
    if (auto* s = detail::metrics_recorder()) s->streams_opened.add();
}
inline void stream_closed() noexcept {
    if (auto* s = detail::metrics_recorder()) s->streams_closed.add();
}
inline void subscriber_added() noexcept {
    if (auto* s = detail::metrics_recorder()) s->subscribers_added.add();
}
inline void subscriber_removed() noexcept {
    if (auto* s = detail::metrics_recorder()) s->subscribers_removed.add();
}

}  // namespace porthole::metrics
