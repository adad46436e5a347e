// A router's path matching over arbitrary targets and methods, against a plain reference: each
// route matches a path when its segments do (a literal equal, {:int} / {:uint} in range, {name}
// not empty, {rest...} one or more segments), and among the routes that match path and method
// (GET standing in for HEAD) the winner is the most specific, segment by segment from the left:
// literal, {:int}, {:uint}, {name}, rest. Checked: the handler called is that winner and gets
// the right parameters; with no winner, 405 (or 204 for OPTIONS) with the Allow of the routes
// whose path matched, else 404, or a 308 to a form with or without the trailing slash when that
// form has a route (opt-in), never to a Location another host could be read from.
//
// Input layout: a control byte, then the request target (path, then '?' and a query); targets
// with bytes the parser refuses are skipped.
//   bits 0-3: the method (GET HEAD POST PUT DELETE CONNECT OPTIONS TRACE PATCH, by index mod 9)
//   bit 4:    redirect_trailing_slash on
#include "fuzz_support.hpp"

#include <porthole/parser.hpp>
#include <porthole/router.hpp>

#include <array>
#include <charconv>
#include <string>
#include <vector>

namespace fuzz_router {

using namespace porthole;

enum class kind { literal, integer, unsigned_integer, string, rest };

struct route_spec {
    std::vector<std::pair<kind, std::string_view>> segments;  // kind, literal text or name
    std::uint16_t methods;
    bool mount = false;
};

inline std::uint16_t bits(std::initializer_list<method> ms) {
    std::uint16_t b = 0;
    for (auto m : ms) b = static_cast<std::uint16_t>(b | method_set(m).bits());
    return b;
}

inline route_spec spec(std::string_view pattern, std::uint16_t methods, bool mount = false) {
    route_spec r{{}, methods, mount};
    for (auto seg : url::segments(pattern)) {
        if (seg.starts_with('{')) {
            auto inner = seg.substr(1, seg.size() - 2);
            if (inner.ends_with("...")) r.segments.push_back({kind::rest, inner.substr(0, inner.size() - 3)});
            else if (inner.ends_with(":int")) r.segments.push_back({kind::integer, inner.substr(0, inner.size() - 4)});
            else if (inner.ends_with(":uint"))
                r.segments.push_back({kind::unsigned_integer, inner.substr(0, inner.size() - 5)});
            else r.segments.push_back({kind::string, inner});
        } else {
            r.segments.push_back({kind::literal, seg});
        }
    }
    if (mount) r.segments.push_back({kind::rest, {}});
    return r;
}

std::uint16_t const all = (1u << 9) - 1;

// The routes below, in the same order, as the reference sees them.
inline std::vector<route_spec> const& specs() {
    static std::vector<route_spec> const s = {
        spec("/", bits({method::get})),
        spec("/users", bits({method::get, method::post})),
        spec("/users/{id:int}", bits({method::get, method::put, method::delete_})),
        spec("/users/me", bits({method::get})),
        spec("/users/{name}", bits({method::patch})),
        spec("/users/{id:int}/posts/{slug}", bits({method::get})),
        spec("/files/{path...}", bits({method::get})),
        spec("/files/readme", bits({method::get})),
        spec("/n/{u:uint}", bits({method::get})),
        spec("/n/{i:int}", bits({method::post})),
        spec("/a/b/c/d/e", bits({method::get})),
        spec("/{any}/x", bits({method::get})),
        spec("/m/{a}/{b}/{c}", bits({method::get, method::post})),
        spec("/h", bits({method::head})),
        spec("/h", bits({method::get})),
        spec("/static", all, true),
        spec("/static/special", bits({method::get})),
        spec("/api/v1/items/{id:int}/tags/all", bits({method::get})),
        spec("/api/v1", bits({method::get})),
        spec("/api/v1/items/{id:int}/tags/all/{t}", bits({method::put})),
        spec("/e//f/", bits({method::get})),
    };
    return s;
}

struct hit {
    int route = -1;
    std::vector<std::pair<std::string, std::string>> params;
    std::string sub_path;  // what a mounted application saw
    bool typed = false;
    std::int64_t int_value = 0;
    std::uint64_t uint_value = 0;
    std::string_view rest_value;
};
inline hit last;

inline response record(int route, request const& r) {
    last.route = route;
    for (auto const& p : r.params()) last.params.emplace_back(p.name, p.value);
    return response::text("route " + std::to_string(route));
}

inline auto make_router() {
    return router{
        get<"/">([](request const& r) { return record(0, r); }),
        route<"/users", GET | POST>([](request const& r) { return record(1, r); }),
        route<"/users/{id:int}", GET | PUT | DELETE>([](request const& r, std::int64_t id) {
            last.typed = true;
            last.int_value = id;
            return record(2, r);
        }),
        get<"/users/me">([](request const& r) { return record(3, r); }),
        patch<"/users/{name}">([](request const& r) { return record(4, r); }),
        get<"/users/{id:int}/posts/{slug}">([](request const& r) { return record(5, r); }),
        get<"/files/{path...}">([](request const& r, std::string_view path) {
            last.rest_value = path;
            return record(6, r);
        }),
        get<"/files/readme">([](request const& r) { return record(7, r); }),
        get<"/n/{u:uint}">([](request const& r, std::uint64_t u) {
            last.typed = true;
            last.uint_value = u;
            return record(8, r);
        }),
        post<"/n/{i:int}">([](request const& r) { return record(9, r); }),
        get<"/a/b/c/d/e">([](request const& r) { return record(10, r); }),
        get<"/{any}/x">([](request const& r) { return record(11, r); }),
        route<"/m/{a}/{b}/{c}", GET | POST>([](request const& r) { return record(12, r); }),
        head<"/h">([](request const& r) { return record(13, r); }),
        get<"/h">([](request const& r) { return record(14, r); }),
        mount<"/static">([](request const& r) {
            last.sub_path = std::string(r.path());
            return record(15, r);
        }),
        get<"/static/special">([](request const& r) { return record(16, r); }),
        // Runs of literal segments, matched as one: split by a route that ends inside, and
        // with an empty segment.
        get<"/api/v1/items/{id:int}/tags/all">([](request const& r) { return record(17, r); }),
        get<"/api/v1">([](request const& r) { return record(18, r); }),
        put<"/api/v1/items/{id:int}/tags/all/{t}">([](request const& r) { return record(19, r); }),
        get<"/e//f/">([](request const& r) { return record(20, r); }),
    };
}

inline int rank(kind k) { return static_cast<int>(k); }

// The reference's own number rules, written apart from the router's: decimal digits, an
// optional '-' for signed, within the 64-bit range.
inline bool reference_number(std::string_view s, bool is_signed) {
    bool negative = is_signed && !s.empty() && s[0] == '-';
    if (negative) s.remove_prefix(1);
    if (s.empty()) return false;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    constexpr std::uint64_t int_max = static_cast<std::uint64_t>(INT64_MAX);
    return !is_signed || v <= int_max + (negative ? 1 : 0);
}

inline bool segment_matches(kind k, std::string_view text, std::string_view seg) {
    switch (k) {
        case kind::literal: return seg == text;
        case kind::integer: return reference_number(seg, true);
        case kind::unsigned_integer: return reference_number(seg, false);
        case kind::string: return !seg.empty();
        case kind::rest: return true;
    }
    return false;
}

inline bool matches(route_spec const& r, std::vector<std::string_view> const& segs) {
    auto n = r.segments.size();
    bool rest = r.segments.back().first == kind::rest;
    if (rest ? segs.size() < n : segs.size() != n) return false;
    for (std::size_t i = 0; i < n; ++i)
        if (!segment_matches(r.segments[i].first, r.segments[i].second, segs[i])) return false;
    return true;
}

// Negative when a is more specific than b.
inline int compare(route_spec const& a, route_spec const& b) {
    for (std::size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i)
        if (int d = rank(a.segments[i].first) - rank(b.segments[i].first)) return d;
    return 0;
}

struct expectation {
    int route = -1;             // the winner, or -1
    std::uint16_t allowed = 0;  // methods of the routes whose path matched
};

inline expectation expect(std::vector<std::string_view> const& segs, method m) {
    auto const& s = specs();
    auto wanted = method_set(m).bits();
    std::uint16_t fallback = m == method::head ? method_set(method::get).bits() : 0;
    expectation e;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (!matches(s[i], segs)) continue;
        e.allowed = static_cast<std::uint16_t>(e.allowed | s[i].methods);
        if (!(s[i].methods & (wanted | fallback))) continue;
        if (e.route < 0) {
            e.route = static_cast<int>(i);
            continue;
        }
        auto const& best = s[static_cast<std::size_t>(e.route)];
        int d = compare(s[i], best);
        // Equally specific: the same shape; the route with the method itself beats GET for HEAD.
        if (d < 0 || (d == 0 && (s[i].methods & wanted) && !(best.methods & wanted))) e.route = static_cast<int>(i);
    }
    return e;
}

inline std::vector<std::string_view> split(std::string_view path) {
    std::vector<std::string_view> v;
    for (auto seg : url::segments(path)) v.push_back(seg);
    return v;
}

inline std::size_t offset_of(std::string_view path, std::vector<std::string_view> const& segs, std::size_t i) {
    return static_cast<std::size_t>(segs[i].data() - path.data());
}

inline void check_params(std::size_t route, std::string_view path, std::vector<std::string_view> const& segs) {
    auto const& r = specs()[route];
    std::size_t p = 0;
    for (std::size_t i = 0; i < r.segments.size(); ++i) {
        auto [k, name] = r.segments[i];
        if (k == kind::literal) continue;
        if (r.mount) {
            FUZZ_CHECK(last.sub_path == path.substr(offset_of(path, segs, i) - 1));
            continue;
        }
        FUZZ_CHECK(p < last.params.size());
        FUZZ_CHECK(last.params[p].first == name);
        auto const& value = last.params[p].second;
        if (k == kind::rest) {
            FUZZ_CHECK(value == path.substr(offset_of(path, segs, i)));
            FUZZ_CHECK(last.rest_value == value);
        } else if (k == kind::string) {
            std::string decoded;
            FUZZ_CHECK(url::decode_segment(segs[i], decoded));
            FUZZ_CHECK(value == decoded);
        } else {
            FUZZ_CHECK(value == segs[i]);
            if (last.typed && k == kind::integer) {
                std::int64_t v = 0;
                auto r2 = std::from_chars(value.data(), value.data() + value.size(), v);
                FUZZ_CHECK(r2.ec == std::errc{} && r2.ptr == value.data() + value.size() && v == last.int_value);
            }
            if (last.typed && k == kind::unsigned_integer) {
                std::uint64_t v = 0;
                auto r2 = std::from_chars(value.data(), value.data() + value.size(), v);
                FUZZ_CHECK(r2.ec == std::errc{} && r2.ptr == value.data() + value.size() && v == last.uint_value);
            }
        }
        ++p;
    }
    FUZZ_CHECK(p == last.params.size());
}

inline void one_input(std::uint8_t const* data, std::size_t size) {
    fuzz_support::input in(data, size);
    auto control = in.byte();
    auto m = static_cast<method>((control & 15) % 9);
    bool redirect = (control & 16) != 0;
    auto target = in.rest();
    for (char c : target)
        if (!detail::is_target_char(c)) return;  // the parser lets no other byte through
    auto q = target.find('?');
    auto raw_path = target.substr(0, q);
    auto query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    std::string path;
    if (!url::decode_path(raw_path, path)) return;  // the connection answers 400 first

    static auto plain = make_router();
    static auto redirecting = make_router().redirect_trailing_slash();
    request req(request::parts{m, to_string(m), target, http_1_1, path, raw_path, query, {}, {}, true, {}, false, {}});
    last = hit{};
    auto res = redirect ? redirecting(req) : plain(req);
    auto code = to_int(res.status());
    if (std::getenv("FUZZ_DUMP"))
        std::fprintf(stderr, "%s %.*s -> %d (route %d)\n", std::string(to_string(m)).c_str(),
                     static_cast<int>(target.size()), target.data(), code, last.route);

    auto segs = split(path);
    bool dot = url::has_dot_segment(path);
    if (!path.starts_with('/') || dot) {
        FUZZ_CHECK(code == 404 && last.route < 0);
        return;
    }
    auto e = expect(segs, m);
    FUZZ_CHECK(last.route == e.route);
    if (e.route >= 0) {
        FUZZ_CHECK(code == 200);
        check_params(static_cast<std::size_t>(e.route), path, segs);
        return;
    }
    std::array<char, 64> buf;
    if (e.allowed) {
        FUZZ_CHECK(code == (m == method::options ? 204 : 405));
        FUZZ_CHECK(res.header("Allow") == detail::format_allow(e.allowed, buf));
        return;
    }
    if (code == 308) {
        FUZZ_CHECK(redirect);
        auto location = res.header("Location").value_or("");
        FUZZ_CHECK(location.starts_with('/') && !location.starts_with("//") && !location.starts_with("/\\"));
        // The other form has a route (for some method).
        auto other = split(path);
        if (path.size() > 1 && path.ends_with('/')) other.pop_back();
        else other.push_back(std::string_view(path.data() + path.size(), 0));
        bool any = false;
        for (auto const& r : specs()) any |= matches(r, other);
        FUZZ_CHECK(any);
        return;
    }
    FUZZ_CHECK(code == 404);
}

}  // namespace fuzz_router

PORTHOLE_FUZZ_ENTRY(fuzz_router)
