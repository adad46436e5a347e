// porthole/expvar.hpp: published variables. Any thread publishes a named value (a counter, a
// gauge, a string, or a function evaluated when read); any thread reads the whole set.
// exposition.hpp shows them at /debug/vars (JSON and an HTML table) and, the numeric ones, in
// Prometheus' /metrics.
//
//   static auto jobs_done = porthole::expvar::publish_counter("jobs_done");
//   jobs_done.add();                                   // any thread, a relaxed atomic add
//   porthole::expvar::publish("queue_length", [&] { return double(queue.size()); });
//
// Names are any non-empty text ("porthole" is the server's own, in /debug/vars). Publishing a
// name again returns the variable already there when it is of the same kind, and throws
// std::invalid_argument when it is of another. A number's name in Prometheus' /metrics (other
// characters as '_', a counter's ending in _total) must be its own: one that another number
// already has there ("a.b" beside "a_b", a counter "jobs" beside a gauge "jobs_total"), or that
// begins with "porthole_" (the server's own families), throws std::invalid_argument too, rather
// than give a scrape two families of one name (which Prometheus refuses whole). Variables live until the program ends,
// as in Go's expvar: a handle is a reference to one, cheap to copy.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/compiled_once.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace porthole::expvar {

enum class kind : std::uint8_t { counter, gauge, text, number_function, text_function };

namespace detail {
struct variable {
    expvar::kind kind;
    std::atomic<std::uint64_t> count{0};
    std::atomic<double> level{0};
    mutable std::mutex text_mutex;
    std::string text;
    std::function<double()> number;
    std::function<std::string()> words;
};

struct registry {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<variable>, std::less<>> variables;
    std::map<std::string, std::string, std::less<>> numbers_exposed;  // name in /metrics -> the number's name
};

inline registry& variables() {
    static registry* r = new registry;  // never destroyed: published from threads that may outlive main
    return *r;
}

constexpr bool is_number(kind k) noexcept { return k != kind::text && k != kind::text_function; }

// A number's name in Prometheus' /metrics: [a-zA-Z_:][a-zA-Z0-9_:]*, other characters as '_', a
// counter's ending in _total (exposition format 0.0.4).
inline std::string prometheus_name(std::string_view name, kind k) {
    std::string n;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (c >= '0' && c <= '9' && !n.empty());
        n += ok ? c : '_';
    }
    if (k == kind::counter && !(n.size() >= 6 && n.compare(n.size() - 6, 6, "_total") == 0)) n += "_total";
    return n;
}

template <class Init>
std::shared_ptr<variable> publish(std::string_view name, kind k, Init&& init) {
    if (name.empty()) throw std::invalid_argument("porthole::expvar: a name cannot be empty");
    if (name == "porthole") throw std::invalid_argument("porthole::expvar: \"porthole\" is the server's own name");
    auto& r = variables();
    std::lock_guard lock(r.mutex);
    if (auto it = r.variables.find(name); it != r.variables.end()) {
        if (it->second->kind != k)
            throw std::invalid_argument("porthole::expvar: \"" + std::string(name) + "\" is published as another kind");
        return it->second;
    }
    std::string exposed;
    if (is_number(k)) {
        exposed = prometheus_name(name, k);
        auto refuse = [&](std::string_view why) {
            std::string m("porthole::expvar: \"");
            m.append(name).append("\" ").append(why).append(exposed).append(" in /metrics");
            throw std::invalid_argument(m);
        };
        if (exposed.starts_with("porthole_")) refuse("would be the server's own ");
        if (auto other = r.numbers_exposed.find(exposed); other != r.numbers_exposed.end())
            refuse("would be, as \"" + other->second + "\" is, ");
    }
    auto v = std::make_shared<variable>();
    v->kind = k;
    init(*v);
    // Both maps or neither: a name left out of numbers_exposed would let a colliding one in.
    auto exposed_at =
        is_number(k) ? r.numbers_exposed.emplace(std::move(exposed), std::string(name)).first : r.numbers_exposed.end();
    try {
        r.variables.emplace(std::string(name), v);
    } catch (...) {
        if (exposed_at != r.numbers_exposed.end()) r.numbers_exposed.erase(exposed_at);
        throw;
    }
    return v;
}
}  // namespace detail

// A count that only goes up.
class counter {
public:
    void add(std::uint64_t n = 1) const noexcept { v_->count.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return v_->count.load(std::memory_order_relaxed); }

private:
    friend counter publish_counter(std::string_view);
    explicit counter(std::shared_ptr<detail::variable> v) : v_(std::move(v)) {}
    std::shared_ptr<detail::variable> v_;
};

// A level that goes up and down.
class gauge {
public:
    void set(double x) const noexcept { v_->level.store(x, std::memory_order_relaxed); }
    void add(double x) const noexcept {
        double old = v_->level.load(std::memory_order_relaxed);
        while (!v_->level.compare_exchange_weak(old, old + x, std::memory_order_relaxed)) {}
    }
    double value() const noexcept { return v_->level.load(std::memory_order_relaxed); }

private:
    friend gauge publish_gauge(std::string_view);
    explicit gauge(std::shared_ptr<detail::variable> v) : v_(std::move(v)) {}
    std::shared_ptr<detail::variable> v_;
};

// A piece of text (a version, a state, a configuration value).
class text {
public:
    void set(std::string value) const {
        std::lock_guard lock(v_->text_mutex);
        v_->text = std::move(value);
    }
    std::string value() const {
        std::lock_guard lock(v_->text_mutex);
        return v_->text;
    }

private:
    friend text publish_text(std::string_view);
    explicit text(std::shared_ptr<detail::variable> v) : v_(std::move(v)) {}
    std::shared_ptr<detail::variable> v_;
};

inline counter publish_counter(std::string_view name) {
    return counter(detail::publish(name, kind::counter, [](detail::variable&) {}));
}
inline gauge publish_gauge(std::string_view name) {
    return gauge(detail::publish(name, kind::gauge, [](detail::variable&) {}));
}
inline text publish_text(std::string_view name) {
    return text(detail::publish(name, kind::text, [](detail::variable&) {}));
}

// A value computed when read, on the reading thread: a function returning a number (shown as a
// gauge) or text. It must be safe to call from any thread. Publishing the name again keeps the
// first function.
template <class F>
requires std::is_invocable_v<F&>
void publish(std::string_view name, F f) {
    using R = std::invoke_result_t<F&>;
    if constexpr (std::is_arithmetic_v<R>) {
        detail::publish(name, kind::number_function, [&](detail::variable& v) {
            v.number = [g = std::move(f)]() mutable { return static_cast<double>(g()); };
        });
    } else {
        static_assert(std::is_convertible_v<R, std::string>,
                      "porthole::expvar::publish: the function must return a number or a string");
        detail::publish(name, kind::text_function, [&](detail::variable& v) {
            v.words = [g = std::move(f)]() mutable { return std::string(g()); };
        });
    }
}

// One variable as read: a number (counters, gauges, number functions) or text.
struct reading {
    std::string name;
    expvar::kind kind;
    double number = 0;
    std::string text;
    bool is_number() const noexcept { return detail::is_number(kind); }
};

// Every published variable, read now, in name order. Functions run on this thread, outside the
// registry's lock (one may publish); one that throws reads as text "error: ...".
PORTHOLE_DETAIL_INLINE std::vector<reading> read_all();

// The names published, in order.
inline std::vector<std::string> names() {
    auto& r = detail::variables();
    std::lock_guard lock(r.mutex);
    std::vector<std::string> out;
    for (auto const& [name, v] : r.variables) out.push_back(name);
    return out;
}

}  // namespace porthole::expvar

// The bodies: in every file, or once (detail/compiled_once.hpp).
#if PORTHOLE_DETAIL_DEFINE_HERE
namespace porthole::expvar {

PORTHOLE_DETAIL_INLINE std::vector<reading> read_all() {
    std::vector<std::pair<std::string, std::shared_ptr<detail::variable>>> vars;
    {
        auto& r = detail::variables();
        std::lock_guard lock(r.mutex);
        vars.assign(r.variables.begin(), r.variables.end());
    }
    std::vector<reading> out;
    out.reserve(vars.size());
    for (auto& [name, v] : vars) {
        reading x{name, v->kind, 0, {}};
        try {
            switch (v->kind) {
                case kind::counter: x.number = static_cast<double>(v->count.load(std::memory_order_relaxed)); break;
                case kind::gauge: x.number = v->level.load(std::memory_order_relaxed); break;
                case kind::text: {
                    std::lock_guard lock(v->text_mutex);
                    x.text = v->text;
                    break;
                }
                case kind::number_function: x.number = v->number(); break;
                case kind::text_function: x.text = v->words(); break;
            }
        } catch (std::exception const& e) {
            x.kind = kind::text;
            x.text = std::string("error: ") + e.what();
        } catch (...) {
            x.kind = kind::text;
            x.text = "error";
        }
        out.push_back(std::move(x));
    }
    return out;
}

}  // namespace porthole::expvar
#endif
