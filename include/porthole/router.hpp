// porthole/router.hpp: a route table checked at compile time. Patterns with typed parameters
// ("/users/{id:int}"), handlers that take those parameters as arguments, dispatch without
// allocation through a trie built by the compiler, 404 / 405 with Allow / HEAD / OPTIONS, and
// mount points for other applications.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/app.hpp>
#include <porthole/body_stream.hpp>
#include <porthole/detail/decimal.hpp>
#include <porthole/detail/route_trie.hpp>
#include <porthole/metrics.hpp>
#include <porthole/route_pattern.hpp>
#include <porthole/url.hpp>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace porthole {

// ---------------------------------------------------------------- route declarations

template <route_pattern Pattern, route_methods Methods, class Handler>
struct route_entry {
    using info = detail::pattern_info<Pattern>;
    static constexpr bool is_mount = false;
    static constexpr std::string_view pattern = Pattern.view();
    static constexpr std::uint16_t methods = Methods.bits;
    static constexpr auto const& segments = info::segments;
    Handler handler;
};

template <route_pattern Prefix, class App>
struct mount_entry {
    using info = detail::mount_info<Prefix>;
    static constexpr bool is_mount = true;
    static constexpr std::string_view pattern = Prefix.view();
    static constexpr std::uint16_t methods = detail::known_methods;
    static constexpr auto const& segments = info::segments;
    App app;
};

namespace detail {

// What get, post, route... take: compilers name the part of it a handler missed.
template <route_pattern P, class H>
concept route_handler = handler_takes_the_patterns_parameters<P, H> && handler_returns_an_answer<P, H>;

// An unsound pattern or method set: their static_asserts explain.
template <route_pattern Pattern, route_methods Methods>
constexpr bool check_route_declaration() noexcept {
    return pattern_check<Pattern>::ok && methods_check<Methods>::ok;
}

}  // namespace detail

// route<"/items/{name}", GET | PUT>(handler). The handler takes the pattern's parameters in
// order, optionally after `request const&`, or the request alone (then req.param("name")).
// A handler that does not fit is one error where the route is written ("no matching function"),
// whose notes quote the concept it missed, and that line explains (route_pattern.hpp).
template <route_pattern Pattern, route_methods Methods, class Handler>
requires detail::route_handler<Pattern, std::decay_t<Handler>>
auto route(Handler&& handler) {
    (void)detail::check_route_declaration<Pattern, Methods>();
    return route_entry<Pattern, Methods, std::decay_t<Handler>>{std::forward<Handler>(handler)};
}

template <route_pattern P, class H>
requires detail::route_handler<P, std::decay_t<H>>
auto get(H&& h) { return route<P, GET>(std::forward<H>(h)); }
template <route_pattern P, class H>
requires detail::route_handler<P, std::decay_t<H>>
auto head(H&& h) { return route<P, HEAD>(std::forward<H>(h)); }
template <route_pattern P, class H>
requires detail::route_handler<P, std::decay_t<H>>
auto post(H&& h) { return route<P, POST>(std::forward<H>(h)); }
template <route_pattern P, class H>
requires detail::route_handler<P, std::decay_t<H>>
auto put(H&& h) { return route<P, PUT>(std::forward<H>(h)); }
template <route_pattern P, class H>
requires detail::route_handler<P, std::decay_t<H>>
auto delete_(H&& h) { return route<P, DELETE>(std::forward<H>(h)); }
template <route_pattern P, class H>
requires detail::route_handler<P, std::decay_t<H>>
auto patch(H&& h) { return route<P, PATCH>(std::forward<H>(h)); }

// Serves every method on every path below `Prefix` ("/static" takes "/static/..." but not
// "/static") with `app`, which sees the path from the '/' after the prefix on.
template <route_pattern Prefix, class App>
auto mount(App&& app) {
    static_assert(detail::mount_info<Prefix>::valid,
                  "porthole mount: a prefix is \"/\" or literal segments without a trailing '/', like \"/static\"");
    static_assert(detail::check_application<std::decay_t<App>>());
    return mount_entry<Prefix, std::decay_t<App>>{std::forward<App>(app)};
}

namespace detail {

// ---------------------------------------------------------------- matching

// The routes a router holds, each in a base class named by its index: route I is found by the
// base its index names, where a std::tuple of a few hundred routes costs the compiler seconds in
// recursive instantiations.
template <std::size_t I, class Route>
struct route_slot {
    Route entry;
};
template <class Indices, class... Routes>
struct route_slots;
template <std::size_t... I, class... Routes>
struct route_slots<std::index_sequence<I...>, Routes...> : route_slot<I, Routes>... {
    explicit route_slots(Routes&&... routes) : route_slot<I, Routes>{std::move(routes)}... {}
};
template <std::size_t I, class Route>
Route& route_at(route_slot<I, Route>& slot) noexcept {
    return slot.entry;
}
template <std::size_t I, class Slots>
using route_type_at = std::remove_reference_t<decltype(route_at<I>(std::declval<Slots&>()))>;

// A request path on its way through the trie. Segment i is the same whichever branch reads
// it, so the segments met are kept for the winning route to take its parameters from.
template <std::size_t Depth>
struct path_walk {
    struct segment {  // left uninitialized until met: most of the array is never used
        char const* data;
        std::size_t size;
        operator std::string_view() const noexcept { return {data, size}; }  // NOLINT: a view by design
    };
    std::string_view path;
    std::array<segment, Depth> segments;
    std::size_t rest_at = 0;  // where a matched {rest...} starts
    // Segment i's value as a number, when an {:int} or {:uint} took it (the same bits whichever
    // took it last: a value both can hold is the same number).
    std::array<std::uint64_t, Depth> numbers;

    explicit path_walk(std::string_view p) noexcept : path(p) {}

    // The position of the first '/' at or after `i`, or p.size(). A word at a time, the last
    // word overlapping the one before: segments are short, and a memchr call costs more.
    static std::size_t next_slash(std::string_view p, std::size_t i) noexcept {
        if constexpr (std::endian::native == std::endian::little) {
            auto slashes = [&](std::size_t at) {  // bit 7 of byte k set when p[at + k] == '/'
                constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7fu;
                std::uint64_t v;
                std::memcpy(&v, p.data() + at, 8);
                v ^= 0x2f2f2f2f2f2f2f2fu;                  // a '/' byte becomes zero
                return ~(((v & low7) + low7) | v | low7);  // exact: no borrow between bytes
            };
            if (p.size() >= 8) {
                for (; i + 8 <= p.size(); i += 8)
                    if (auto hit = slashes(i)) return i + static_cast<std::size_t>(std::countr_zero(hit) / 8);
                if (i == p.size()) return i;
                auto base = p.size() - 8;
                auto hit = slashes(base) & (~std::uint64_t{0} << (8 * (i - base)));
                return hit ? base + static_cast<std::size_t>(std::countr_zero(hit) / 8) : p.size();
            }
        }
        while (i < p.size() && p[i] != '/') ++i;
        return i;
    }
};

// Whether a segment is what {:int} / {:uint} match.
constexpr bool is_int64(std::string_view s) noexcept {
    std::int64_t v = 0;
    return parse_decimal(s, v);
}
constexpr bool is_uint64(std::string_view s) noexcept {
    std::uint64_t v = 0;
    return parse_decimal(s, v);
}

// Equality of short strings by overlapping word loads: a literal is matched once per request
// segment, and a byte loop or a memcmp call costs more than the bytes.
inline bool same_text(std::string_view a, std::string_view b) noexcept {
    auto n = a.size();
    if (n != b.size()) return false;
    auto const* p = a.data();
    auto const* q = b.data();
    auto load8 = [](char const* x) {
        std::uint64_t v;
        std::memcpy(&v, x, 8);
        return v;
    };
    auto load4 = [](char const* x) {
        std::uint32_t v;
        std::memcpy(&v, x, 4);
        return v;
    };
    if (n >= 8) {
        for (std::size_t i = 0; i + 8 < n; i += 8)
            if (load8(p + i) != load8(q + i)) return false;
        return load8(p + n - 8) == load8(q + n - 8);
    }
    if (n >= 4) return load4(p) == load4(q) && load4(p + n - 4) == load4(q + n - 4);
    return n == 0 || (p[0] == q[0] && p[n / 2] == q[n / 2] && p[n - 1] == q[n - 1]);  // n <= 3
}

struct match_query {
    std::uint16_t wanted = 0;    // the request's method bit
    std::uint16_t fallback = 0;  // GET's bit for a HEAD request, else 0
    std::uint16_t allowed = 0;   // methods of the routes whose paths matched
    int route = -1;              // the winner
};

template <class Trie, class Walk, class Methods>
struct matcher {
    Trie const& t;
    Walk& walk;
    Methods const& methods;  // per route
    match_query& q;

    bool at_end(trie_node const& n) const noexcept {
        if (n.routes_begin == n.routes_end) return false;
        for (auto k = n.routes_begin; k < n.routes_end; ++k)
            if (methods[t.routes[k]] & q.wanted) return q.route = t.routes[k], true;
        if (q.fallback)
            for (auto k = n.routes_begin; k < n.routes_end; ++k)
                if (methods[t.routes[k]] & q.fallback) return q.route = t.routes[k], true;
        q.allowed = static_cast<std::uint16_t>(q.allowed | n.methods);
        return false;
    }
    // The child reached by literal `seg`, or -1: a short run of children is scanned, a long
    // one has a table.
    int find_literal(trie_node const& n, std::string_view seg) const noexcept {
        if (n.table_bits == 0) {
            for (std::size_t e = n.literals_begin; e < n.literals_end; ++e)
                if (same_text(t.edges[e].text, seg)) return t.edges[e].child;
            return -1;
        }
        auto key = literal_key(seg);
        std::size_t mask = (std::size_t{1} << n.table_bits) - 1;
        for (auto slot = static_cast<std::size_t>(key >> (64 - n.table_bits));; slot = (slot + 1) & mask) {
            auto e = t.slots[n.table_begin + slot];
            if (e == 0) return -1;
            auto const& edge = t.edges[e - 1u];
            if (edge.key == key && same_text(edge.text, seg)) return edge.child;
        }
    }
    // Parses segment i as a T, keeping the value for the handler.
    template <class T>
    bool number(std::string_view seg, std::size_t i) const noexcept {
        T v = 0;
        if (!parse_decimal(seg, v)) return false;
        if (i < walk.numbers.size()) walk.numbers[i] = static_cast<std::uint64_t>(v);
        return true;
    }
    // Most specific first: a literal, then {:int}, {:uint}, {name}, {rest...}; `pos` is where
    // segment i starts, past the end once the path is consumed. Each candidate child is tried
    // once the next one is known, so the last is taken by looping rather than recursing: a
    // path through nodes without alternatives costs no calls. Dot segments match no
    // parameter (and no literal can be one), so a path with one matches nothing.
    bool visit(std::size_t node, std::size_t i, std::size_t pos) const noexcept {
        auto const path = walk.path;
        for (;;) {
            auto const& n = t.nodes[node];
            if (pos > path.size()) return at_end(n);
            if (n.only_literal) {  // no choice to make here: compare the edge's text where it stands
                auto const& e = t.edges[n.literals_begin];
                auto size = e.text.size();
                if (path.size() - pos < size || !same_text({path.data() + pos, size}, e.text)) return false;
                if (pos + size != path.size() && path[pos + size] != '/') return false;
                node = e.child;
                i += e.segments;
                pos += size + 1;
                continue;
            }
            auto end = Walk::next_slash(path, pos);
            std::string_view seg(path.data() + pos, end - pos);
            if (i < walk.segments.size()) walk.segments[i] = {seg.data(), seg.size()};
            int next = find_literal(n, seg);
            auto candidate = [&](std::int16_t c) {
                if (next >= 0 && visit(static_cast<std::size_t>(next), i + 1, end + 1)) return true;
                next = c;
                return false;
            };
            if (!seg.empty()) {
                if (n.integer != no_node && number<std::int64_t>(seg, i) && candidate(n.integer)) return true;
                if (n.unsigned_integer != no_node && number<std::uint64_t>(seg, i) && candidate(n.unsigned_integer))
                    return true;
                if (n.string != no_node && !url::is_dot_segment(seg) && candidate(n.string)) return true;
            }
            if (n.rest != no_node) {
                if (next >= 0 && visit(static_cast<std::size_t>(next), i + 1, end + 1)) return true;
                if (url::has_dot_segment(path.substr(pos))) return false;
                walk.rest_at = pos;
                return at_end(t.nodes[static_cast<std::size_t>(n.rest)]);
            }
            if (next < 0) return false;
            node = static_cast<std::size_t>(next);
            ++i;
            pos = end + 1;
        }
    }
};

inline std::uint16_t method_bit(method m) noexcept { return method_set(m).bits(); }

// "GET, HEAD, POST, OPTIONS": HEAD comes with GET, OPTIONS always.
inline std::string_view format_allow(std::uint16_t bits, std::array<char, 64>& buf) noexcept {
    if (bits & method_bit(method::get)) bits = static_cast<std::uint16_t>(bits | method_bit(method::head));
    bits = static_cast<std::uint16_t>(bits | method_bit(method::options));
    std::size_t n = 0;
    method_set::from_bits(bits).for_each([&](method m) {
        auto name = to_string(m);
        if (n) {
            buf[n++] = ',';
            buf[n++] = ' ';
        }
        std::memcpy(buf.data() + n, name.data(), name.size());
        n += name.size();
    });
    return {buf.data(), n};
}

// Where decoded parameter values live while a handler runs: a stack buffer, then one heap
// block as large as the path (decoding never lengthens a segment) for values beyond it.
class decode_arena {
public:
    explicit decode_arena(std::size_t path_size) noexcept : path_size_(path_size) {}
    // The segment with its kept escapes (%2F, %25) turned back into bytes.
    std::string_view decode(std::string_view seg) {
        std::size_t first = 0;  // a loop, not memchr: segments are short
        while (first < seg.size() && seg[first] != '%') ++first;
        if (first == seg.size()) return seg;
        char* out = take(seg.size());
        std::size_t n = 0;
        for (std::size_t i = 0; i < seg.size(); ++i) {
            int byte = seg[i] == '%' ? url::detail::escaped_byte(seg, i) : -1;
            if (byte >= 0) {
                out[n++] = static_cast<char>(byte);
                i += 2;
            } else {
                out[n++] = seg[i];
            }
        }
        return {out, n};
    }

private:
    char* take(std::size_t n) {
        if (used_ + n <= buffer_.size()) return buffer_.data() + std::exchange(used_, used_ + n);
        if (!heap_) heap_ = std::make_unique<char[]>(path_size_);
        return heap_.get() + std::exchange(heap_used_, heap_used_ + n);
    }
    std::array<char, 256> buffer_;
    std::size_t used_ = 0;
    std::size_t path_size_;
    std::unique_ptr<char[]> heap_;
    std::size_t heap_used_ = 0;
};

}  // namespace detail

// ---------------------------------------------------------------- the router

// An application made of routes and mounts, matched by a trie built at compile time.
// Precedence, segment by segment from the left: a literal, then {name:int}, {name:uint},
// {name}, {name...} (and mounts). A path with a "." or ".." segment matches nothing.
template <class... Routes>
class router {
    static constexpr std::size_t route_count = sizeof...(Routes);
    // Sums and tests over the routes go through arrays, not fold expressions: clang nests a fold
    // of n terms n deep, and stops at 256.
    static constexpr std::size_t node_capacity = [] {
        std::size_t sum = 1;
        for (auto n : std::array<std::size_t, route_count>{Routes::segments.size()...}) sum += n;
        return sum;
    }();
    static constexpr auto trie_ =
        detail::build_trie<route_count, node_capacity>(std::array<detail::route_shape, route_count>{
            detail::route_shape{Routes::segments.data(), Routes::segments.size(), Routes::methods}...});
    static constexpr std::array<std::uint16_t, route_count + 1> methods_{Routes::methods..., 0};
    static constexpr std::array<std::string_view, route_count + 1> patterns_{Routes::pattern..., ""};
    static constexpr std::array<bool, route_count + 1> mounts_{Routes::is_mount..., false};
    static constexpr std::size_t depth = trie_.depth > 0 ? trie_.depth : 1;
    using walk = detail::path_walk<depth>;
    using slots = detail::route_slots<std::index_sequence_for<Routes...>, Routes...>;

public:
    explicit router(Routes... routes) : routes_(std::move(routes)...) { check_conflicts(); }

    // Opt in: a path that matches no route, but would with a trailing '/' added or removed, is
    // answered 308 Permanent Redirect to that form.
    router& redirect_trailing_slash(bool on = true) & noexcept {
        redirect_slash_ = on;
        return *this;
    }
    router&& redirect_trailing_slash(bool on = true) && noexcept {
        redirect_slash_ = on;
        return std::move(*this);
    }

    // The pattern of the route that would answer `m` on `path` ("/users/{id:int}", or a mount's
    // prefix), or an empty view when none would: 404, 405, and what the router answers itself
    // (OPTIONS with Allow, a trailing-slash redirect). For logs and metrics by route.
    static std::string_view route_for(method m, std::string_view path) noexcept {
        auto route = route_index(m, path);
        return route < route_count ? patterns_[route] : std::string_view{};
    }

    // Metrics by route (metrics.hpp) for an answer a layer around the router gave in its place
    // (401, 429...): counted under the route that would have answered, when recording.
    static void note_route_for(method m, std::string_view path) noexcept {
        if (!detail::metrics_recording_request()) [[likely]]
            return;
        auto route = route_index(m, path);
        if (route < route_count) detail::note_route(patterns_[route], mounts_[route]);
    }

private:
    // The index of the route that would answer `m` on `path`; route_count when none would.
    static std::size_t route_index(method m, std::string_view path) noexcept {
        if (path.empty() || path[0] != '/') return route_count;
        walk w(path);
        detail::match_query q;
        return find_for(m, w, q) ? static_cast<std::size_t>(q.route) : route_count;
    }

    // Finds the route for method `m` on the walked path, HEAD taking GET's (RFC 9110 9.3.2):
    // true with q.route; false with q.allowed holding the methods the path has, if any.
    static bool find_for(method m, walk& w, detail::match_query& q) noexcept {
        q.wanted = detail::method_bit(m);
        if (m == method::head) q.fallback = detail::method_bit(method::get);
        return find(w, q);
    }

    template <class E>
    static constexpr bool route_plans_body() {
        if constexpr (E::is_mount) return detail::plans_bodies<decltype(E::app)>;
        else return detail::is_streamed_body_handler<decltype(E::handler)>::value;
    }
    static constexpr bool some_route_plans_body = [] {
        for (bool plans : std::array<bool, route_count + 1>{route_plans_body<Routes>()..., false})
            if (plans) return true;
        return false;
    }();

public:
    // How the route that would answer `head` takes its body: a streamed_body route's plan, a
    // mounted application's, or nullopt (the connection's max_body, read whole). Present only
    // when some route plans its body: a connection asks it before reading a body.
    std::optional<body_plan> plan_body(request const& head) requires(some_route_plans_body) {
        auto path = head.path();
        if (path.empty() || path[0] != '/') return std::nullopt;
        walk w(path);
        detail::match_query q;
        if (!find_for(head.method(), w, q)) return std::nullopt;
        return plan_table[static_cast<std::size_t>(q.route)](*this, head, w);
    }

    response operator()(request const& req) { return dispatch<false>(req); }

    // A request whose body the connection refuses (app.hpp's answers_refusals): answered as
    // routing would, 404 or 405 (or OPTIONS's 204) where no route takes it, and `refusal` where
    // one does, or would after the trailing-slash redirect (not sent: the body would follow it);
    // a mounted application answers for its own paths.
    response refuse(request const& head, status refusal) { return dispatch<true>(head, refusal); }

private:
    template <bool Refusing>
    response dispatch(request const& req, status refusal = {}) {
        auto path = req.path();
        auto m = req.method();
        if (path.empty() || path[0] != '/') return response::error(status::not_found);
        walk w(path);
        detail::match_query q;
        if (find_for(m, w, q)) {
            auto route = static_cast<std::size_t>(q.route);
            auto answer = [&] {
                if constexpr (Refusing) return refuse_table[route](*this, req, w, refusal);
                else return invoke(route, req, w);
            };
            if (!q.allowed || !mounts_[route]) return answer();
            return with_routes_allowed(answer(), q.allowed, m);
        }
        if (q.allowed) {
            if (m == method::options) return options_response(q.allowed);
            auto res = response::error(status::method_not_allowed);
            std::array<char, 64> buf;
            res.set_header("Allow", detail::format_allow(q.allowed, buf));
            return res;
        }
        if (redirect_slash_) {
            auto res = redirect_or_404(req);
            // A redirect would have the client send the body again, to its refusal.
            if (Refusing && res.status() != status::not_found) return response::error(refusal);
            return res;
        }
        return response::error(status::not_found);
    }

    // Instantiated only for a conflicting pair, so that the error names both patterns.
    template <class A, class B>
    struct conflict_report {
        static_assert(sizeof(A) == 0 && sizeof(B) == 0,
                      "porthole router: two routes match the same paths with overlapping methods (patterns that "
                      "differ only in parameter names are the same route)");
    };
    static constexpr void check_conflicts() noexcept {
        if constexpr (trie_.conflict_first >= 0) {
            using A = detail::route_type_at<static_cast<std::size_t>(trie_.conflict_first), slots>;
            using B = detail::route_type_at<static_cast<std::size_t>(trie_.conflict_second), slots>;
            (void)sizeof(conflict_report<A, B>);
        }
    }

    static bool find(walk& w, detail::match_query& q) noexcept {
        detail::matcher<decltype(trie_), walk, decltype(methods_)> mt{trie_, w, methods_, q};
        return mt.visit(0, 0, 1);
    }

    // A mount answered a path that more specific routes match too, with other methods: its 405's or
    // OPTIONS's Allow lists theirs as well (RFC 9110 10.2.1: the methods the target supports).
    // Names the mount lists that porthole does not know are kept.
    static response with_routes_allowed(response res, std::uint16_t allowed, method m) {
        auto code = static_cast<unsigned>(res.status());
        if (!res.header("Allow") || !(code == 405 || (m == method::options && code / 100 == 2))) return res;
        std::string merged;  // every Allow line the mount sent (one list, RFC 9110 5.3), then ours
        for (auto const& f : res.headers())
            if (iequals(f.name, "Allow") && !detail::trim_ows(f.value).empty())
                merged.append(merged.empty() ? "" : ", ").append(detail::trim_ows(f.value));
        std::array<char, 64> buf;
        for_each_list_item(detail::format_allow(allowed, buf), [&](std::string_view name) {
            if (!res.lists("Allow", name)) merged.append(merged.empty() ? "" : ", ").append(name);
        });
        res.erase_header("Allow");
        res.set_header("Allow", merged);
        return res;
    }

    static response options_response(std::uint16_t allowed) {
        response res(status::no_content);
        std::array<char, 64> buf;
        res.set_header("Allow", detail::format_allow(allowed, buf));
        return res;
    }

    response redirect_or_404(request const& req) const {
        // The other form: without the final '/', or with one more.
        auto path = req.path();
        bool trailing = path.size() >= 2 && path.back() == '/';
        std::string longer;
        if (!trailing) longer.append(path).push_back('/');
        walk alt(trailing ? path.substr(0, path.size() - 1) : std::string_view(longer));
        detail::match_query q;
        q.wanted = detail::known_methods;
        if (!find(alt, q)) return response::error(status::not_found);
        auto raw = req.raw_path();
        std::string location;
        url::encode_as_target(trailing ? raw.substr(0, raw.size() - 1) : raw, location);
        if (!trailing) location += '/';
        // Never a Location a browser would read as another host ("//host"; a '\' is encoded).
        if (location.size() >= 2 && location[0] == '/' && location[1] == '/') return response::error(status::not_found);
        if (!req.query_string().empty()) {
            location += '?';
            url::encode_as_target(req.query_string(), location);
        }
        return response::redirect(location, status::permanent_redirect);
    }

    response invoke(std::size_t index, request const& req, walk const& w) { return invoke_table[index](*this, req, w); }

    template <std::size_t I>
    static response invoke_route(router& self, request const& req, walk const& s) {
        auto& entry = detail::route_at<I>(self.routes_);
        using E = std::remove_reference_t<decltype(entry)>;
        detail::note_route(E::pattern, E::is_mount);  // metrics by route (metrics.hpp), when recording
        if constexpr (E::is_mount) {
            // The sub-application sees the path from the '/' before the rest on.
            return call_application(entry.app, req.with_path(s.path.substr(s.rest_at - 1)));
        } else if constexpr (handler_form_of<E>() == detail::handler_form::params &&
                             !detail::handler_traits<decltype(entry.handler),
                                                     detail::param_types<typename E::info>>::later &&
                             !requires { typename std::remove_cvref_t<decltype(entry.handler)>::porthole_blocking; }) {
            // The handler takes the parameters alone: no copy of the request to carry them.
            // (A blocking one needs the request, to answer later through.)
            using info = typename E::info;
            detail::decode_arena arena(s.path.size());
            return call_with_params<info>(entry.handler, arena, s, std::make_index_sequence<info::param_count>{});
        } else {
            using info = typename E::info;
            detail::decode_arena arena(s.path.size());
            std::array<path_param, info::param_count + 1> params{};
            fill_params<info>(params, arena, s, std::make_index_sequence<info::param_count>{});
            auto with = req.with_params(std::span<path_param const>(params.data(), info::param_count));
            return call_handler<info>(entry.handler, with, s, params, std::make_index_sequence<info::param_count>{});
        }
    }

    template <class Info, std::size_t... J>
    static void fill_params(std::array<path_param, Info::param_count + 1>& params, detail::decode_arena& arena,
                            walk const& s, std::index_sequence<J...>) {
        ((params[J] = path_param{Info::segments[Info::param_positions[J]].text,
                                 param_text<Info::segments[Info::param_positions[J]].kind>(arena, s,
                                                                                           Info::param_positions[J])}),
         ...);
    }

    template <detail::segment_kind K>
    static std::string_view param_text(detail::decode_arena& arena, walk const& s, std::size_t position) {
        if constexpr (K == detail::segment_kind::rest) return s.path.substr(s.rest_at);
        else if constexpr (K == detail::segment_kind::string) return arena.decode(s.segments[position]);
        else return s.segments[position];
    }

    template <detail::segment_kind K>
    static auto param_value(walk const& s, std::size_t position, std::string_view text) noexcept {
        if constexpr (K == detail::segment_kind::integer) return static_cast<std::int64_t>(s.numbers[position]);
        else if constexpr (K == detail::segment_kind::unsigned_integer) return s.numbers[position];
        else return text;
    }

    template <class Info, class H, std::size_t... J>
    static response call_with_params(H& h, detail::decode_arena& arena, walk const& s, std::index_sequence<J...>) {
        (void)arena;
        (void)s;
        return to_response(h(param_value<Info::segments[Info::param_positions[J]].kind>(
            s, Info::param_positions[J],
            param_text<Info::segments[Info::param_positions[J]].kind>(arena, s, Info::param_positions[J]))...));
    }

    // A handler that does not fit its pattern has already failed the build in route()'s check,
    // with a message that says why; calling it here would only add a misleading second error.
    template <class Info, class H, std::size_t... J>
    static response call_handler(H& h, request const& req, walk const& s,
                                 std::array<path_param, Info::param_count + 1> const& params,
                                 std::index_sequence<J...> order) {
        using traits = detail::handler_traits<H, detail::param_types<Info>>;
        if constexpr (traits::form == detail::handler_form::none || !traits::result_ok) {
            static_assert(!detail::call_operator_unnamed<H>,
                          "porthole route: the handler's call operator cannot be named: fix the error reported "
                          "in its body, or give it one call operator that takes the pattern's parameters");
            return response(status::internal_server_error);
        } else return call_fitting_handler<Info>(h, req, s, params, order);
    }

    template <class Info, class H, std::size_t... J>
    static response call_fitting_handler(H& h, request const& req, walk const& s,
                                         std::array<path_param, Info::param_count + 1> const& params,
                                         std::index_sequence<J...>) {
        (void)s;
        (void)params;
        using traits = detail::handler_traits<H, detail::param_types<Info>>;
        constexpr auto f = traits::form;
        // The handler with its parameters, then `tail` (a body, a responder), in its form.
        auto call = [&](auto&&... tail) -> decltype(auto) {
            constexpr bool without_request =
                f == detail::handler_form::params || f == detail::handler_form::params_and_body;
            if constexpr (without_request && requires { typename H::porthole_blocking; })
                return h.template run<false>(  // blocking.hpp: to answer later through
                    req,
                    param_value<Info::segments[Info::param_positions[J]].kind>(s, Info::param_positions[J],
                                                                               params[J].value)...,
                    std::forward<decltype(tail)>(tail)...);
            else if constexpr (without_request)
                return h(param_value<Info::segments[Info::param_positions[J]].kind>(s, Info::param_positions[J],
                                                                                    params[J].value)...,
                         std::forward<decltype(tail)>(tail)...);
            else if constexpr (f == detail::handler_form::request_only)
                return h(req, std::forward<decltype(tail)>(tail)...);
            else
                return h(req,
                         param_value<Info::segments[Info::param_positions[J]].kind>(s, Info::param_positions[J],
                                                                                    params[J].value)...,
                         std::forward<decltype(tail)>(tail)...);
        };
        // It answers through a responder (responder.hpp), taken last.
        auto finish = [&](auto&&... tail) -> response {
            if constexpr (traits::later) {
                call(std::forward<decltype(tail)>(tail)..., answer_later(req));
                return later;
            } else {
                return to_response(call(std::forward<decltype(tail)>(tail)...));
            }
        };
        if constexpr (f == detail::handler_form::params_and_body ||
                      f == detail::handler_form::request_params_and_body) {
            // A body parameter, read before the handler runs; refused: the reader's answer.
            using B = typename traits::body;
            response refusal;
            auto body = body_reader<B>::read(req, refusal);
            if (!body) return refusal;
            return finish(std::move(*body));
        } else {
            return finish();
        }
    }

    template <class E>
    static constexpr detail::handler_form handler_form_of() {
        return detail::handler_traits<decltype(E::handler), detail::param_types<typename E::info>>::form;
    }

    template <std::size_t I>
    static std::optional<body_plan> plan_route(router& self, request const& head, walk const& s) {
        auto& entry = detail::route_at<I>(self.routes_);
        using E = std::remove_reference_t<decltype(entry)>;
        (void)s, (void)head;
        if constexpr (!route_plans_body<E>()) return std::nullopt;
        else if constexpr (E::is_mount) return entry.app.plan_body(head.with_path(s.path.substr(s.rest_at - 1)));
        else return entry.handler.plan();
    }
    using planner = std::optional<body_plan> (*)(router&, request const&, walk const&);
    template <std::size_t... I>
    static constexpr std::array<planner, route_count + 1> make_planners(std::index_sequence<I...>) {
        return {&plan_route<I>..., nullptr};
    }
    static constexpr std::array<planner, route_count + 1> plan_table =
        make_planners(std::make_index_sequence<route_count>{});

    template <std::size_t I>
    static response refuse_route(router& self, request const& req, walk const& s, status refusal) {
        using E = detail::route_type_at<I, slots>;
        detail::note_route(E::pattern, E::is_mount);
        if constexpr (E::is_mount)
            return refuse_through(detail::route_at<I>(self.routes_).app, req.with_path(s.path.substr(s.rest_at - 1)),
                                  refusal);
        else return (void)self, (void)req, (void)s, response::error(refusal);
    }
    using refuser = response (*)(router&, request const&, walk const&, status);
    template <std::size_t... I>
    static constexpr std::array<refuser, route_count + 1> make_refusers(std::index_sequence<I...>) {
        return {&refuse_route<I>..., nullptr};
    }
    static constexpr std::array<refuser, route_count + 1> refuse_table =
        make_refusers(std::make_index_sequence<route_count>{});

    using invoker = response (*)(router&, request const&, walk const&);
    template <std::size_t... I>
    static constexpr std::array<invoker, route_count + 1> make_invokers(std::index_sequence<I...>) {
        return {&invoke_route<I>..., nullptr};
    }
    static constexpr std::array<invoker, route_count + 1> invoke_table =
        make_invokers(std::make_index_sequence<route_count>{});

    slots routes_;
    bool redirect_slash_ = false;
};

template <class... Routes>
router(Routes...) -> router<Routes...>;

}  // namespace porthole
