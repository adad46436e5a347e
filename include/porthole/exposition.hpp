// porthole/exposition.hpp: the metrics (metrics.hpp) and published variables (expvar.hpp)
// read and shown: a snapshot, Prometheus' text format, JSON, and two applications to mount.
//
//   auto app = porthole::router{
//       porthole::get<"/">(...),
//       porthole::get<"/metrics">(porthole::prometheus_metrics()),  // Prometheus text 0.0.4
//       porthole::get<"/debug/vars">(porthole::debug_vars()),       // JSON, a live HTML table
//   };
//
// Both are ordinary applications, so any layer wraps them (authentication, say), and nothing is
// served until they are mounted. Making either turns recording on (metrics::enable()). Serve
// them on a loopback or otherwise protected address: they tell a reader what a program does.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/compiled_once.hpp>
#include <porthole/detail/utf8.hpp>
#include <porthole/event_hub.hpp>
#include <porthole/expvar.hpp>
#include <porthole/http.hpp>
#include <porthole/json_string.hpp>
#include <porthole/metrics.hpp>
#include <porthole/request.hpp>
#include <porthole/response.hpp>
#include <porthole/template.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace porthole::metrics {

// Every thread's counts, summed.
struct snapshot {
    struct status_class_totals {
        std::uint64_t requests = 0, nanoseconds = 0, bytes_in = 0, bytes_out = 0;
        std::array<std::uint64_t, latency_buckets.size() + 1> latency{};  // per bucket, the last +Inf
    };
    struct route {
        std::string pattern;      // "/users/{id:int}", a mount's prefix and its router's pattern, or "(none)"
        std::string_view method;  // "GET", ... "OTHER"
        std::int64_t in_flight = 0;
        std::array<status_class_totals, status_classes> classes{};  // 1xx .. 5xx
    };
    std::vector<route> routes;  // by pattern, then method
    std::uint64_t connections_accepted = 0, connections_closed = 0, connections_refused = 0;
    std::array<std::uint64_t, timeout_names.size()> timeouts{};    // by timeout_kind
    std::vector<std::pair<unsigned, std::uint64_t>> parse_errors;  // (status, count), those seen
    std::array<std::uint64_t, requests_per_connection_buckets.size() + 1> requests_per_connection{};
    std::uint64_t requests_per_connection_sum = 0;
    std::uint64_t sendfile_bytes = 0;
    std::int64_t worker_queue_depth = 0;
    std::uint64_t worker_rejections = 0;
    std::int64_t live_streams = 0, live_subscribers = 0;
    std::uint64_t series_dropped = 0;
    std::size_t threads = 0;  // shards summed

    std::int64_t connections_open() const noexcept {
        return static_cast<std::int64_t>(connections_accepted) - static_cast<std::int64_t>(connections_closed);
    }
};

// Reads every shard (relaxed loads: each value is one a thread wrote, the set is not one instant).
PORTHOLE_DETAIL_INLINE snapshot collect();

}  // namespace porthole::metrics

namespace porthole::detail {

inline void append_number(std::string& out, double x) {
    if (std::isnan(x)) {
        out += "NaN";
    } else if (std::isinf(x)) {
        out += x > 0 ? "+Inf" : "-Inf";
    } else {
        char buf[32];
        auto r = std::to_chars(buf, buf + sizeof buf, x);
        out.append(buf, r.ptr);
    }
}
inline void append_number(std::string& out, std::uint64_t x) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, x);
    out.append(buf, r.ptr);
}
inline void append_number(std::string& out, std::int64_t x) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, x);
    out.append(buf, r.ptr);
}

// A label value in the text format: '\', '"' and line feed escaped, and well-formed UTF-8 (the
// format's rule: Prometheus refuses a whole scrape with one invalid byte in it).
inline void append_label_value(std::string& out, std::string_view v) {
    out += '"';
    utf8::append_well_formed(out, v, [](std::string& o, char c) {
        if (c == '\\') o += "\\\\";
        else if (c == '"') o += "\\\"";
        else if (c == '\n') o += "\\n";
        else o += c;
    });
    out += '"';
}

class prometheus_writer {
public:
    explicit prometheus_writer(std::string& out) : out_(out) {}
    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        utf8::append_well_formed(out_, help, [](std::string& o, char c) {  // HELP escapes '\' and line feed
            if (c == '\\') o += "\\\\";
            else if (c == '\n') o += "\\n";
            else o += c;
        });
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }
    // name{k="v",...} value
    template <class Value>
    void sample(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                Value v) {
        out_ += name;
        if (labels.size()) {
            out_ += '{';
            bool first = true;
            for (auto const& [k, val] : labels) {
                if (!first) out_ += ',';
                first = false;
                out_ += k;
                out_ += '=';
                append_label_value(out_, val);
            }
            out_ += '}';
        }
        out_ += ' ';
        append_number(out_, v);
        out_ += '\n';
    }

private:
    std::string& out_;
};

inline constexpr std::array<std::string_view, metrics::status_classes> status_class_names{"1xx", "2xx", "3xx", "4xx",
                                                                                          "5xx"};

// A bucket bound as people write it ("0.0001", "2.5"), not in the shortest form ("1e-04").
inline std::string bound_text(double b) {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.10g", b);
    return std::string(buf, static_cast<std::size_t>(n > 0 ? n : 0));
}

}  // namespace porthole::detail

namespace porthole::metrics {

// Prometheus text exposition format 0.0.4 of `s` and of the published numeric variables.
PORTHOLE_DETAIL_INLINE void write_prometheus(std::string& out, snapshot const& s,
                                             std::vector<expvar::reading> const& vars);

// JSON of `s` and of every published variable: {"name": value, ..., "porthole": {metrics}}, as Go's
// /debug/vars, numbers as numbers (non-finite as null) and text as strings.
PORTHOLE_DETAIL_INLINE void write_json(std::string& out, snapshot const& s, std::vector<expvar::reading> const& vars);

}  // namespace porthole::metrics

namespace porthole {

// GET /metrics for Prometheus: the text exposition format 0.0.4 of the metrics and of the
// published numeric variables. Making one turns recording on.
class prometheus_metrics {
public:
    prometheus_metrics() noexcept { metrics::enable(); }
    response operator()(request const&) const {
        std::string body;
        body.reserve(16 * 1024);
        metrics::write_prometheus(body, metrics::collect(), expvar::read_all());
        auto res = response::text(std::move(body));
        res.set_content_type("text/plain; version=0.0.4; charset=utf-8");
        res.set_header("Cache-Control", "no-store");
        return res;
    }
};

struct debug_vars_options {
    // While a page is open, its table is pushed to it this often (server-sent events).
    std::chrono::milliseconds refresh_interval{1000};
    // Another server-sent events stream for the page to listen to instead of the built-in one;
    // its events carry, as data, the JSON this endpoint answers (debug_vars::json()).
    std::string events_url{};
};

namespace detail {
// The stream behind a debug_vars page: one hub, and a thread publishing the JSON every
// interval while someone is subscribed. Both start with the first subscriber; until then, and
// whenever no page is open, nothing runs.
class vars_stream {
public:
    explicit vars_stream(std::chrono::milliseconds every) : every_(every) {}
    vars_stream(vars_stream const&) = delete;
    vars_stream& operator=(vars_stream const&) = delete;
    ~vars_stream() {
        if (!publisher_.joinable()) return;
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        publisher_.join();
        hub_->close();
    }

    template <class Json>
    response subscribe(request const& req, Json json) {
        std::call_once(started_, [&] {
            event_hub_options only_the_newest;
            only_the_newest.history = 1;
            hub_.emplace(only_the_newest);
            publisher_ = std::thread([this, json] { run(json); });
        });
        auto res = hub_->subscribe(req);
        {
            std::lock_guard lock(mutex_);
            joined_ = true;  // the newcomer gets the state at once, not an interval later
        }
        wake_.notify_one();
        return res;
    }

private:
    template <class Json>
    void run(Json json) {
        std::unique_lock lock(mutex_);
        while (!stop_) {
            if (!joined_ && hub_->subscribers() == 0) {
                wake_.wait(lock, [&] { return stop_ || joined_; });
                continue;
            }
            joined_ = false;
            lock.unlock();
            hub_->publish(json());
            lock.lock();
            wake_.wait_for(lock, every_, [&] { return stop_ || joined_; });
        }
    }

    std::chrono::milliseconds every_;
    std::once_flag started_;
    std::optional<event_hub> hub_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool joined_ = false;
    bool stop_ = false;
    std::thread publisher_;
};
}  // namespace detail

// GET /debug/vars: JSON of every published variable and of the metrics (application/json), or,
// for a client that prefers HTML (a browser's Accept, or ?format=html), a page showing them as a
// table, rendered through a template and kept current by server-sent events from this same
// address (?format=events, or Accept: text/event-stream: one event of that JSON every
// refresh_interval while the page is open). ?format=json asks for JSON whatever Accept says.
// Making one turns recording on. Copies share one stream.
class debug_vars {
public:
    explicit debug_vars(debug_vars_options opts = {})
        : options_(std::move(opts)), live_(std::make_shared<detail::vars_stream>(options_.refresh_interval)) {
        metrics::enable();
    }

    // The JSON body; the data of each event the page receives.
    static std::string json() {
        std::string body;
        body.reserve(4096);
        metrics::write_json(body, metrics::collect(), expvar::read_all());
        return body;
    }

    response operator()(request const& req) const {
        auto format = req.query("format");
        if (format ? *format == "events" : req.header("Accept").value_or("").starts_with("text/event-stream"))
            return live_->subscribe(req, [] { return json(); });
        if (format == "style") return asset(page_style, "text/css; charset=utf-8");
        if (format == "script") return asset(page_script, "text/javascript; charset=utf-8");
        bool page = format ? *format == "html" : prefers_html(req.header("Accept").value_or(""));
        if (!page) {
            auto res = response::json(json());
            res.set_header("Cache-Control", "no-store");
            return res;
        }
        return response::html(render_page());
    }

private:
    static bool prefers_html(std::string_view accept) noexcept {
        auto html = accept.find("text/html");
        if (html == std::string_view::npos) return false;
        auto json = accept.find("application/json");
        return json == std::string_view::npos || html < json;
    }

    // The page's style and script are answered by this address too (?format=style, ?format=script),
    // so that a Content-Security-Policy of 'self' (security_headers) holds for the page.
    static constexpr std::string_view page_style =
        "body{font:14px/1.4 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#222}"
        "table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:.25rem .5rem;"
        "border-bottom:1px solid #eee;font-variant-numeric:tabular-nums}small{color:#777}";
    static constexpr std::string_view page_script =
        "const eventsUrl = document.body.dataset.eventsUrl || '?format=events';\n"
        // The rows render_page() writes, from the JSON: each variable, then a line per route and
        // two of the connections (the JSON's other numbers are for programs, not this table).
        "function rows(data) {\n"
        "  const out = [];\n"
        "  for (const [k, v] of Object.entries(data))\n"
        "    if (k !== 'porthole') out.push([k, typeof v === 'string' ? 'text' : 'number', String(v)]);\n"
        "  const p = data.porthole || {}, c = p.connections || {};\n"
        "  for (const r of p.routes || []) {\n"
        "    let n = 0;\n"
        "    for (const t of Object.values(r.by_status_class || {})) n += t.requests;\n"
        "    out.push(['porthole.routes ' + r.method + ' ' + r.route, 'requests', String(n)]);\n"
        "  }\n"
        "  out.push(['porthole.connections.open', 'number', String(c.open)]);\n"
        "  out.push(['porthole.connections.accepted', 'number', String(c.accepted)]);\n"
        "  return out;\n"
        "}\n"
        "function show(data) {\n"
        "  const body = document.getElementById('vars');\n"
        "  body.replaceChildren(...rows(data).map(r => {\n"
        "    const tr = document.createElement('tr');\n"
        "    for (const t of r) { const td = document.createElement('td'); td.textContent = t; tr.append(td); }\n"
        "    return tr;\n"
        "  }));\n"
        "  document.getElementById('updated').textContent = new Date().toLocaleTimeString();\n"
        "}\n"
        "const events = new EventSource(eventsUrl);\n"
        "events.onmessage = e => show(JSON.parse(e.data));\n"
        "events.onerror = () => { document.getElementById('updated').textContent = 'reconnecting'; };\n";

    static response asset(std::string_view body, std::string_view type) {
        auto res = response::text(std::string(body));
        res.set_content_type(type);
        res.set_header("Cache-Control", "no-cache");
        return res;
    }

    std::string render_page() const;

    debug_vars_options options_;
    std::shared_ptr<detail::vars_stream> live_;
};

}  // namespace porthole

// The bodies: in every file, or once (detail/compiled_once.hpp).
#if PORTHOLE_DETAIL_DEFINE_HERE
namespace porthole::metrics {

PORTHOLE_DETAIL_INLINE snapshot collect() {
    snapshot out;
    auto& reg = detail::metrics_shards();
    std::vector<detail::metrics_shard*> shards;
    {
        std::lock_guard lock(reg.mutex);
        for (auto& s : reg.shards) shards.push_back(s.get());
    }
    out.threads = shards.size();
    out.worker_queue_depth = reg.worker_queue_depth.load(std::memory_order_relaxed);
    out.worker_rejections = reg.worker_rejections.load(std::memory_order_relaxed);
    std::map<std::pair<std::string, std::uint8_t>, snapshot::route> routes;
    std::array<std::uint64_t, 200> parse_errors{};
    std::uint64_t streams_opened = 0, streams_closed = 0, subscribers_added = 0, subscribers_removed = 0;
    for (auto* sh : shards) {
        for (auto const& slot : sh->table) {
            detail::route_series const* s = slot.load(std::memory_order_acquire);
            if (!s) continue;
            std::string name;
            name.reserve(s->prefix.size() + s->pattern.size());
            name.append(s->prefix);
            if (!s->prefix.empty() && s->pattern == "/") {
                // the mounted router's root is the prefix itself
            } else {
                name.append(s->pattern);
            }
            auto& r = routes[{name, s->method}];
            if (r.pattern.empty()) {
                r.pattern = std::move(name);
                r.method = to_string(static_cast<porthole::method>(s->method));
            }
            r.in_flight += static_cast<std::int64_t>(s->started.get()) - static_cast<std::int64_t>(s->ended.get());
            for (std::size_t c = 0; c < status_classes; ++c) {
                auto const& from = s->classes[c];
                auto& to = r.classes[c];
                to.requests += from.count.get();
                to.nanoseconds += from.nanoseconds.get();
                to.bytes_in += from.bytes_in.get();
                to.bytes_out += from.bytes_out.get();
                for (std::size_t b = 0; b < to.latency.size(); ++b) to.latency[b] += from.latency[b].get();
            }
        }
        out.connections_accepted += sh->accepted.get();
        out.connections_closed += sh->closed.get();
        out.connections_refused += sh->refused.get();
        for (std::size_t i = 0; i < out.timeouts.size(); ++i) out.timeouts[i] += sh->timeouts[i].get();
        for (std::size_t i = 0; i < parse_errors.size(); ++i) parse_errors[i] += sh->parse_errors[i].get();
        for (std::size_t i = 0; i < out.requests_per_connection.size(); ++i)
            out.requests_per_connection[i] += sh->requests_per_connection[i].get();
        out.requests_per_connection_sum += sh->requests_per_connection_sum.get();
        out.sendfile_bytes += sh->sendfile_bytes.get();
        out.series_dropped += sh->series_dropped.get();
        streams_opened += sh->streams_opened.get();
        streams_closed += sh->streams_closed.get();
        subscribers_added += sh->subscribers_added.get();
        subscribers_removed += sh->subscribers_removed.get();
    }
    for (auto& [key, r] : routes) out.routes.push_back(std::move(r));
    for (unsigned i = 0; i < parse_errors.size(); ++i)
        if (parse_errors[i]) out.parse_errors.emplace_back(400 + i, parse_errors[i]);
    out.live_streams = static_cast<std::int64_t>(streams_opened - streams_closed);
    out.live_subscribers = static_cast<std::int64_t>(subscribers_added - subscribers_removed);
    return out;
}

PORTHOLE_DETAIL_INLINE void write_prometheus(std::string& out, snapshot const& s,
                                             std::vector<expvar::reading> const& vars) {
    using detail::status_class_names;
    detail::prometheus_writer w(out);
    // Each route's label sets, escaped once: `route="...",method="..."` and with a status class.
    struct labelled {
        std::string route_method;
        std::array<std::string, status_classes> with_class;
    };
    std::vector<labelled> labels(s.routes.size());
    std::size_t estimate = 4096;  // bytes of output, to make room once
    for (std::size_t i = 0; i < s.routes.size(); ++i) {
        auto const& r = s.routes[i];
        auto& l = labels[i];
        l.route_method = "route=";
        detail::append_label_value(l.route_method, r.pattern);
        l.route_method += ",method=";
        detail::append_label_value(l.route_method, r.method);
        for (std::size_t c = 0; c < status_classes; ++c) {
            if (!r.classes[c].requests) continue;
            l.with_class[c] = l.route_method + ",status_class=\"" + std::string(status_class_names[c]) + '"';
            estimate += (latency_buckets.size() + 5) * (l.with_class[c].size() + 72);
        }
        estimate += l.route_method.size() + 64;
    }
    out.reserve(out.size() + estimate);
    auto line = [&out](std::string_view name, std::string_view label_set, std::string_view le, auto value) {
        out += name;
        out += '{';
        out += label_set;
        if (!le.empty()) {
            out += ",le=\"";
            out += le;
            out += '"';
        }
        out += "} ";
        detail::append_number(out, value);
        out += '\n';
    };
    auto per_class = [&](std::string_view name, auto value_of) {
        for (std::size_t i = 0; i < s.routes.size(); ++i)
            for (std::size_t c = 0; c < status_classes; ++c)
                if (s.routes[i].classes[c].requests)
                    line(name, labels[i].with_class[c], {}, value_of(s.routes[i].classes[c]));
    };
    w.family("porthole_http_requests_total", "counter",
             "Requests answered, by route pattern, method and status class.");
    per_class("porthole_http_requests_total", [](auto const& t) { return t.requests; });
    w.family("porthole_http_requests_in_flight", "gauge",
             "Requests received and not yet answered, by route pattern and method.");
    for (std::size_t i = 0; i < s.routes.size(); ++i)
        line("porthole_http_requests_in_flight", labels[i].route_method, {}, s.routes[i].in_flight);
    w.family(
        "porthole_http_request_duration_seconds", "histogram",
        "From the loop's wakeup that read a request's end to its response queued (answers that come later included), seconds.");
    static std::array<std::string, latency_buckets.size()> const bounds = [] {
        std::array<std::string, latency_buckets.size()> b;
        for (std::size_t i = 0; i < b.size(); ++i) b[i] = detail::bound_text(latency_buckets[i]);
        return b;
    }();
    for (std::size_t i = 0; i < s.routes.size(); ++i) {
        for (std::size_t c = 0; c < status_classes; ++c) {
            auto const& t = s.routes[i].classes[c];
            if (!t.requests) continue;
            std::string_view set = labels[i].with_class[c];
            std::uint64_t cumulative = 0;
            for (std::size_t b = 0; b < t.latency.size(); ++b) {
                cumulative += t.latency[b];
                line("porthole_http_request_duration_seconds_bucket", set,
                     b < bounds.size() ? std::string_view(bounds[b]) : std::string_view("+Inf"), cumulative);
            }
            line("porthole_http_request_duration_seconds_sum", set, {}, static_cast<double>(t.nanoseconds) / 1e9);
            // The +Inf bucket's count (the format requires them equal): the request counter is
            // read at another instant than the buckets while requests go on.
            line("porthole_http_request_duration_seconds_count", set, {}, cumulative);
        }
    }
    w.family("porthole_http_received_bytes_total", "counter", "Request bytes (head and body as received), by route.");
    per_class("porthole_http_received_bytes_total", [](auto const& t) { return t.bytes_in; });
    w.family("porthole_http_sent_bytes_total", "counter",
             "Response bytes (head, and body when its length is known), by route.");
    per_class("porthole_http_sent_bytes_total", [](auto const& t) { return t.bytes_out; });

    w.family("porthole_connections_accepted_total", "counter", "Connections accepted.");
    w.sample("porthole_connections_accepted_total", {}, s.connections_accepted);
    w.family("porthole_connections_open", "gauge", "Connections open now.");
    w.sample("porthole_connections_open", {}, s.connections_open());
    w.family("porthole_connections_closed_total", "counter", "Connections closed.");
    w.sample("porthole_connections_closed_total", {}, s.connections_closed);
    w.family(
        "porthole_connections_refused_total", "counter",
        "Connections refused and closed at once (503 over plain HTTP): max_connections reached, or out of descriptors.");
    w.sample("porthole_connections_refused_total", {}, s.connections_refused);
    w.family("porthole_connections_timed_out_total", "counter", "Connections whose timeout fired, by timeout.");
    for (std::size_t i = 0; i < s.timeouts.size(); ++i)
        w.sample("porthole_connections_timed_out_total", {{"timeout", timeout_names[i]}}, s.timeouts[i]);
    w.family("porthole_parse_errors_total", "counter", "Requests refused before reaching the application, by status.");
    for (auto const& [code, n] : s.parse_errors) {
        char buf[4] = {static_cast<char>('0' + code / 100), static_cast<char>('0' + code / 10 % 10),
                       static_cast<char>('0' + code % 10), 0};
        w.sample("porthole_parse_errors_total", {{"status", std::string_view(buf, 3)}}, n);
    }
    w.family("porthole_requests_per_connection", "histogram", "Requests a connection carried, observed at its close.");
    {
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < s.requests_per_connection.size(); ++b) {
            cumulative += s.requests_per_connection[b];
            std::string le = b < requests_per_connection_buckets.size()
                                 ? std::to_string(requests_per_connection_buckets[b])
                                 : std::string("+Inf");
            w.sample("porthole_requests_per_connection_bucket", {{"le", le}}, cumulative);
        }
        w.sample("porthole_requests_per_connection_sum", {}, s.requests_per_connection_sum);
        w.sample("porthole_requests_per_connection_count", {}, cumulative);
    }
    w.family("porthole_sendfile_bytes_total", "counter", "Response bytes sent from files (sendfile).");
    w.sample("porthole_sendfile_bytes_total", {}, s.sendfile_bytes);
    w.family("porthole_worker_queue_depth", "gauge", "Blocking jobs waiting for a worker thread.");
    w.sample("porthole_worker_queue_depth", {}, s.worker_queue_depth);
    w.family("porthole_worker_rejections_total", "counter", "Blocking jobs refused (503): the worker queue was full.");
    w.sample("porthole_worker_rejections_total", {}, s.worker_rejections);
    w.family("porthole_live_streams", "gauge", "Push streams open.");
    w.sample("porthole_live_streams", {}, s.live_streams);
    w.family("porthole_live_subscribers", "gauge", "Subscribers of push streams.");
    w.sample("porthole_live_subscribers", {}, s.live_subscribers);
    w.family("porthole_metrics_series_dropped_total", "counter",
             "Requests counted without their route: a thread saw more route series than it holds.");
    w.sample("porthole_metrics_series_dropped_total", {}, s.series_dropped);

    // Published numbers: counters as counters (named ..._total), the rest as gauges.
    for (auto const& v : vars) {
        if (!v.is_number()) continue;
        bool counter = v.kind == expvar::kind::counter;
        std::string name = expvar::detail::prometheus_name(v.name, v.kind);  // unique: expvar.hpp sees to it
        w.family(name, counter ? "counter" : "gauge", "Published variable " + v.name + ".");
        w.sample(name, {}, v.number);
    }
}

PORTHOLE_DETAIL_INLINE void write_json(std::string& out, snapshot const& s, std::vector<expvar::reading> const& vars) {
    using detail::append_number;
    auto number = [&](double x) {
        if (std::isfinite(x)) append_number(out, x);
        else out += "null";
    };
    auto field = [&](std::string_view name) {
        append_json_string(out, name);
        out += ':';
    };
    out += '{';
    for (auto const& v : vars) {
        field(v.name);
        if (v.is_number()) number(v.number);
        else append_json_string(out, v.text);
        out += ',';
    }
    field("porthole");
    out += "{\"routes\":[";
    bool first = true;
    for (auto const& r : s.routes) {
        if (!first) out += ',';
        first = false;
        out += '{';
        field("route");
        append_json_string(out, r.pattern);
        out += ",\"method\":";
        append_json_string(out, r.method);
        out += ",\"in_flight\":";
        append_number(out, r.in_flight);
        out += ",\"by_status_class\":{";
        bool first_class = true;
        for (std::size_t c = 0; c < status_classes; ++c) {
            auto const& t = r.classes[c];
            if (!t.requests) continue;
            if (!first_class) out += ',';
            first_class = false;
            field(detail::status_class_names[c]);
            out += "{\"requests\":";
            append_number(out, t.requests);
            out += ",\"seconds\":";
            number(static_cast<double>(t.nanoseconds) / 1e9);
            out += ",\"bytes_in\":";
            append_number(out, t.bytes_in);
            out += ",\"bytes_out\":";
            append_number(out, t.bytes_out);
            out += '}';
        }
        out += "}}";
    }
    out += "],\"connections\":{\"accepted\":";
    append_number(out, s.connections_accepted);
    out += ",\"open\":";
    append_number(out, s.connections_open());
    out += ",\"closed\":";
    append_number(out, s.connections_closed);
    out += ",\"refused\":";
    append_number(out, s.connections_refused);
    out += ",\"timed_out\":{";
    for (std::size_t i = 0; i < s.timeouts.size(); ++i) {
        if (i) out += ',';
        field(timeout_names[i]);
        append_number(out, s.timeouts[i]);
    }
    out += "},\"requests_total\":";
    append_number(out, s.requests_per_connection_sum);
    out += "},\"parse_errors\":{";
    for (std::size_t i = 0; i < s.parse_errors.size(); ++i) {
        if (i) out += ',';
        field(std::to_string(s.parse_errors[i].first));
        append_number(out, s.parse_errors[i].second);
    }
    out += "},\"sendfile_bytes\":";
    append_number(out, s.sendfile_bytes);
    out += ",\"worker_queue_depth\":";
    append_number(out, s.worker_queue_depth);
    out += ",\"worker_rejections\":";
    append_number(out, s.worker_rejections);
    out += ",\"live_streams\":";
    append_number(out, s.live_streams);
    out += ",\"live_subscribers\":";
    append_number(out, s.live_subscribers);
    out += "}}";
}

}  // namespace porthole::metrics

namespace porthole {

PORTHOLE_DETAIL_INLINE std::string debug_vars::render_page() const {
    static constexpr auto row = make_template<"<tr><td>@@name@@</td><td>@@kind@@</td><td>@@value@@</td></tr>">();
    static constexpr auto page = make_template<
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Variables</title>\n"
        "<link rel=\"stylesheet\" href=\"?format=style\"><script src=\"?format=script\" defer></script></head>\n"
        "<body data-events-url=\"@@events_url@@\"><h1>Variables</h1>\n<table><thead><tr><th>name</th><th>kind</th><th>value</th></tr></thead>"
        "<tbody id=\"vars\">@@!rows@@</tbody></table>\n"
        "<p><small>From <a href=\"?format=json\">this address as JSON</a>; last update: <span id=\"updated\">at "
        "load</span>.</small></p>\n"
        "</body></html>\n">();
    std::string body_rows;
    auto add = [&](std::string_view name, std::string_view kind, std::string const& value) {
        row.render_to(body_rows, arg<"name">(name), arg<"kind">(kind), arg<"value">(value));
    };
    for (auto const& v : expvar::read_all()) {
        std::string value;
        if (v.is_number()) detail::append_number(value, v.number);
        else value = v.text;
        add(v.name, v.is_number() ? "number" : "text", value);
    }
    auto s = metrics::collect();
    for (auto const& r : s.routes) {
        std::uint64_t n = 0;
        for (auto const& c : r.classes) n += c.requests;
        add("porthole.routes " + std::string(r.method) + " " + r.pattern, "requests", std::to_string(n));
    }
    add("porthole.connections.open", "number", std::to_string(s.connections_open()));
    add("porthole.connections.accepted", "number", std::to_string(s.connections_accepted));
    return page.render(arg<"rows">(html(std::move(body_rows))), arg<"events_url">(options_.events_url)).str();
}

}  // namespace porthole
#endif
