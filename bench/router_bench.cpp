// Dispatch cost of porthole::router, in ns per request, for REST-like tables of 10, 50 and 200
// routes generated at compile time, against what cpp-httplib does: a linear scan of std::regex
// patterns, one list per method, measured in the same run on the same requests.
//
//   router_bench [--rounds 5] [--seconds 0.2]
//
// Two figures per table: the lookup alone (which route, its numbers parsed and range-checked;
// the regex scan's captures, which are iterators: neither side decodes or copies a value), and
// the whole dispatch (the lookup, then parameters decoded,
// the handler called with them, which returns a status, and the response built).
#include <porthole/router.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace porthole;

namespace {

// Resource names of varied lengths, as a real API has.
constexpr std::array<std::string_view, 40> resources{
    "users",     "posts",      "comments",   "orders",        "products", "carts",     "invoices",    "payments",
    "shipments", "reviews",    "categories", "tags",          "sessions", "tokens",    "teams",       "projects",
    "issues",    "milestones", "labels",     "releases",      "builds",   "artifacts", "deployments", "environments",
    "secrets",   "webhooks",   "events",     "notifications", "messages", "threads",   "files",       "folders",
    "images",    "videos",     "playlists",  "albums",        "artists",  "tracks",    "devices",     "locations"};

// Five routes per resource: the collection, one item, and a nested item.
enum kind { list_get, list_post, item_get, item_put_delete, nested_get, kinds };
constexpr std::array<std::string_view, kinds> suffixes{"", "", "/{id:int}", "/{id:int}", "/{id:int}/items/{item}"};

constexpr std::string_view prefix = "/api/v1/";

template <std::size_t R, int K>
constexpr std::size_t pattern_size = prefix.size() + resources[R].size() + suffixes[K].size();

template <std::size_t R, int K>
constexpr auto make_pattern() {
    char text[pattern_size<R, K> + 1]{};
    std::size_t n = 0;
    for (char c : prefix) text[n++] = c;
    for (char c : resources[R]) text[n++] = c;
    for (char c : suffixes[K]) text[n++] = c;
    return route_pattern<pattern_size<R, K> + 1>(text);
}

inline unsigned sink = 0;

template <std::size_t... R>
auto make_router(std::index_sequence<R...>) {
    auto collection = [] { return status::ok; };
    auto item = [](std::int64_t id) { return id > 0 ? status::ok : status::bad_request; };
    auto nested = [](std::int64_t id, std::string_view name) {
        return id > 0 && !name.empty() ? status::ok : status::bad_request;
    };
    return router{
        get<make_pattern<R, list_get>()>(collection)...,
        post<make_pattern<R, list_post>()>(collection)...,
        get<make_pattern<R, item_get>()>(item)...,
        route<make_pattern<R, item_put_delete>(), PUT | DELETE>(item)...,
        get<make_pattern<R, nested_get>()>(nested)...,
    };
}

struct sample {
    method m;
    std::string path;
};

std::vector<sample> make_samples(std::size_t resource_count) {
    std::vector<sample> out;
    for (std::size_t r = 0; r < resource_count; ++r) {
        std::string base = std::string(prefix) + std::string(resources[r]);
        out.push_back({method::get, base});
        out.push_back({method::post, base});
        out.push_back({method::get, base + "/" + std::to_string(1000 + r)});
        out.push_back({method::put, base + "/" + std::to_string(7 + r)});
        out.push_back({method::delete_, base + "/" + std::to_string(123456789 + r)});
        out.push_back({method::get, base + "/" + std::to_string(42 + r) + "/items/widget-" + std::to_string(r)});
    }
    // A fixed shuffle, so that no branch predictor learns the order.
    std::uint64_t state = 88172645463325252ull;
    for (std::size_t i = out.size(); i > 1; --i) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        std::swap(out[i - 1], out[state % i]);
    }
    return out;
}

std::vector<request> make_requests(std::vector<sample> const& samples) {
    std::vector<request> out;
    for (auto const& s : samples) {
        request::parts p;
        p.method = s.m;
        p.method_name = to_string(s.m);
        p.target = s.path;
        p.path = s.path;
        p.raw_path = s.path;
        out.emplace_back(p);
    }
    return out;
}

// cpp-httplib's scheme: per method, a list of (regex, handler) tried in order with regex_match.
class regex_router {
public:
    using handler = std::function<response(request const&, std::smatch const&)>;

    explicit regex_router(std::size_t resource_count) {
        for (std::size_t r = 0; r < resource_count; ++r) {
            std::string base = std::string(prefix) + std::string(resources[r]);
            auto collection = [](request const&, std::smatch const&) { return response(status::ok); };
            auto item = [](request const&, std::smatch const& m) {
                auto id = std::strtoll(m[1].str().c_str(), nullptr, 10);
                return response(id > 0 ? status::ok : status::bad_request);
            };
            auto nested = [](request const&, std::smatch const& m) {
                auto id = std::strtoll(m[1].str().c_str(), nullptr, 10);
                return response(id > 0 && m[2].length() > 0 ? status::ok : status::bad_request);
            };
            add(method::get, base, collection);
            add(method::post, base, collection);
            add(method::get, base + R"(/(-?\d+))", item);
            add(method::put, base + R"(/(-?\d+))", item);
            add(method::delete_, base + R"(/(-?\d+))", item);
            add(method::get, base + R"(/(-?\d+)/items/([^/]+))", nested);
        }
    }

    response operator()(request const& req) const {
        auto const& list = routes_[static_cast<std::size_t>(req.method())];
        std::string path(req.path());  // std::regex wants iterators of a std::string for smatch
        std::smatch m;
        for (auto const& [re, h] : list)
            if (std::regex_match(path, m, re)) return h(req, m);
        return response(status::not_found);
    }

    // The lookup alone: which route, with its captures, for a path already in a std::string
    // (as cpp-httplib keeps it); the position in its method's list, or -1.
    int lookup(method m, std::string const& path, std::smatch& captures) const {
        auto const& list = routes_[static_cast<std::size_t>(m)];
        for (std::size_t i = 0; i < list.size(); ++i)
            if (std::regex_match(path, captures, list[i].first)) return static_cast<int>(i);
        return -1;
    }

private:
    void add(method m, std::string const& pattern, handler h) {
        routes_[static_cast<std::size_t>(m)].emplace_back(std::regex(pattern), std::move(h));
    }
    std::array<std::vector<std::pair<std::regex, handler>>, 10> routes_;
};

struct timing {
    double median, best;
};

// The ns per request of `app` over the requests, median and best of `rounds`, each round
// running whole passes for at least `seconds`. The best shows the cost when nothing else
// competes for the CPU; the median is the figure to compare.
template <class Items, class Each>
timing ns_per_item(Items const& items, Each each, int rounds, double seconds) {
    std::vector<double> results;
    for (int round = 0; round < rounds; ++round) {
        std::size_t done = 0;
        auto start = std::chrono::steady_clock::now();
        double elapsed = 0;
        do {
            for (auto const& item : items) sink += each(item);
            done += items.size();
            elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        } while (elapsed < seconds);
        results.push_back(elapsed * 1e9 / static_cast<double>(done));
    }
    std::sort(results.begin(), results.end());
    return {results[results.size() / 2], results.front()};
}

template <std::size_t Resources>
void run(int rounds, double seconds) {
    auto app = make_router(std::make_index_sequence<Resources>{});
    regex_router peer(Resources);
    auto samples = make_samples(Resources);
    auto reqs = make_requests(samples);
    // Both must agree on every request before their speed means anything.
    for (auto const& r : reqs) {
        auto a = app(r).status(), b = peer(r).status();
        if (a != status::ok || b != status::ok) {
            std::fprintf(stderr, "mismatch on %s %.*s: router %u, regex %u\n", r.method_name().data(),
                         static_cast<int>(r.path().size()), r.path().data(), to_int(a), to_int(b));
            std::exit(1);
        }
    }
    for (auto const& s : samples) {
        std::smatch captures;
        if (app.route_for(s.m, s.path).empty() || peer.lookup(s.m, s.path, captures) < 0) {
            std::fprintf(stderr, "lookup mismatch on %.*s\n", static_cast<int>(s.path.size()), s.path.data());
            std::exit(1);
        }
    }
    // The lookup: which route, its parameters parsed (the router checks {id:int} as it
    // matches; the regex captures it).
    auto ours_lookup = ns_per_item(
        samples, [&](sample const& s) { return app.route_for(s.m, s.path).size(); }, rounds, seconds);
    auto theirs_lookup = ns_per_item(
        samples,
        [&](sample const& s) {
            std::smatch captures;
            return static_cast<std::size_t>(peer.lookup(s.m, s.path, captures) + 1);
        },
        rounds, seconds);
    // The whole dispatch: lookup, parameters decoded and converted, handler called, response built.
    auto ours = ns_per_item(
        reqs, [&](request const& r) { return to_int(app(r).status()); }, rounds, seconds);
    auto theirs = ns_per_item(
        reqs, [&](request const& r) { return to_int(peer(r).status()); }, rounds, seconds);
    std::printf("%6zu | %8.1f (%5.1f) %9.1f (%6.1f) %7.1fx | %8.1f (%5.1f) %9.1f (%6.1f) %7.1fx\n", Resources * kinds,
                ours_lookup.median, ours_lookup.best, theirs_lookup.median, theirs_lookup.best,
                theirs_lookup.median / ours_lookup.median, ours.median, ours.best, theirs.median, theirs.best,
                theirs.median / ours.median);
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = 5;
    double seconds = 0.2;
    for (int i = 1; i + 1 < argc; ++i) {
        std::string a = argv[i];
        if (a == "--rounds") rounds = std::max(1, std::atoi(argv[++i]));
        else if (a == "--seconds") seconds = std::atof(argv[++i]);
    }
    std::printf("router, ns per request: median (best) of %d runs of %.2f s each\n", rounds, seconds);
    std::printf("%6s | %-44s | %-44s\n", "", "lookup (route and parameters)", "dispatch (lookup, handler, response)");
    std::printf("%6s | %16s %18s %8s | %16s %18s %8s\n", "routes", "porthole", "regex scan", "speed-up", "porthole",
                "regex scan", "speed-up");
    run<2>(rounds, seconds);
    run<10>(rounds, seconds);
    run<40>(rounds, seconds);
    std::printf(
        "regex scan: std::regex_match over one list per method, as cpp-httplib dispatches; "
        "requests hit every route, shuffled\n");
    return static_cast<int>(sink == 0xdeadbeef);
}
