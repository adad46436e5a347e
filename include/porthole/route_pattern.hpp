// porthole/route_pattern.hpp: route patterns as template arguments ("/users/{id:int}"),
// parsed and checked at compile time, and what a handler for one must take and return. The
// router (router.hpp) builds its trie (detail/route_trie.hpp) from these.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/app.hpp>
#include <porthole/url.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace porthole {

// A route pattern given as a template argument: get<"/users/{id:int}">(handler).
template <std::size_t N>
struct route_pattern {
    char text[N]{};
    constexpr route_pattern(char const (&s)[N]) noexcept {  // NOLINT: implicit from a literal on purpose
        for (std::size_t i = 0; i < N; ++i) text[i] = s[i];
    }
    constexpr std::string_view view() const noexcept { return {text, N - 1}; }
};

// The methods of a route as a template argument: route<"/x", GET | PUT>(handler).
struct route_methods {
    std::uint16_t bits = 0;
    constexpr route_methods(method_set s) noexcept : bits(s.bits()) {}          // NOLINT: implicit on purpose
    constexpr route_methods(method m) noexcept : bits(method_set(m).bits()) {}  // NOLINT
};

namespace detail {

// ---------------------------------------------------------------- patterns

enum class segment_kind : std::uint8_t { literal, integer, unsigned_integer, string, rest };

struct segment_spec {
    segment_kind kind = segment_kind::literal;
    std::string_view text;  // the literal, or the parameter's name
};

enum class pattern_problem : std::uint8_t {
    none,
    not_rooted,
    unbalanced_brace,
    partial_segment,
    bad_name,
    bad_type,
    rest_not_last,
    dot_segment,
    bad_literal,
    duplicate_name,
};

constexpr bool is_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// string_view::find without its library call: GCC cannot evaluate that call at compile time
// under -fsanitize=undefined, and these run at compile time only.
constexpr std::size_t index_of(std::string_view s, char c, std::size_t from = 0) noexcept {
    for (std::size_t i = from; i < s.size(); ++i)
        if (s[i] == c) return i;
    return std::string_view::npos;
}

// Segments as url::segments splits a path: "/" is one empty segment, "/a/" is "a" and "".
constexpr std::size_t pattern_segment_count(std::string_view p) noexcept {
    std::size_t n = 0;
    for (char c : p) n += c == '/';
    return n;
}

constexpr std::string_view pattern_segment(std::string_view p, std::size_t index) noexcept {
    std::size_t begin = 1;
    for (std::size_t i = 0; i < index; ++i) begin = index_of(p, '/', begin) + 1;
    auto end = index_of(p, '/', begin);
    return p.substr(begin, end == std::string_view::npos ? p.size() - begin : end - begin);
}

// A parameter segment "{name}", "{name:int}", "{name:uint}", "{name...}", or a literal.
constexpr pattern_problem parse_segment(std::string_view s, segment_spec& out) noexcept {
    auto open = index_of(s, '{');
    auto close = index_of(s, '}');
    if (open == std::string_view::npos && close == std::string_view::npos) {
        if (url::is_dot_segment(s)) return pattern_problem::dot_segment;
        for (char c : s)
            if (c == '%' || c == '?' || c == '#' || c == '\0') return pattern_problem::bad_literal;
        out = {segment_kind::literal, s};
        return pattern_problem::none;
    }
    if (open == std::string_view::npos || close == std::string_view::npos || close < open ||
        index_of(s, '{', open + 1) != std::string_view::npos || index_of(s, '}', close + 1) != std::string_view::npos)
        return pattern_problem::unbalanced_brace;
    if (open != 0 || close != s.size() - 1) return pattern_problem::partial_segment;
    auto inner = s.substr(1, s.size() - 2);
    segment_kind kind = segment_kind::string;
    std::string_view name = inner;
    if (inner.size() >= 3 && inner.substr(inner.size() - 3) == "...") {
        kind = segment_kind::rest;
        name = inner.substr(0, inner.size() - 3);
    } else if (auto colon = index_of(inner, ':'); colon != std::string_view::npos) {
        name = inner.substr(0, colon);
        auto type = inner.substr(colon + 1);
        if (type == "int") kind = segment_kind::integer;
        else if (type == "uint") kind = segment_kind::unsigned_integer;
        else return pattern_problem::bad_type;
    }
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return pattern_problem::bad_name;
    for (char c : name)
        if (!is_name_char(c)) return pattern_problem::bad_name;
    out = {kind, name};
    return pattern_problem::none;
}

constexpr pattern_problem check_pattern(std::string_view p) noexcept {
    if (p.empty() || p[0] != '/') return pattern_problem::not_rooted;
    auto n = pattern_segment_count(p);
    for (std::size_t i = 0; i < n; ++i) {
        segment_spec s;
        if (auto problem = parse_segment(pattern_segment(p, i), s); problem != pattern_problem::none) return problem;
        if (s.kind == segment_kind::rest && i + 1 != n) return pattern_problem::rest_not_last;
        if (s.kind == segment_kind::literal) continue;
        for (std::size_t j = 0; j < i; ++j) {
            segment_spec t;
            parse_segment(pattern_segment(p, j), t);
            if (t.kind != segment_kind::literal && t.text == s.text) return pattern_problem::duplicate_name;
        }
    }
    return pattern_problem::none;
}

// A mount prefix: "/" or literal segments without a trailing '/'.
constexpr bool valid_mount_prefix(std::string_view p) noexcept {
    if (p == "/") return true;
    if (check_pattern(p) != pattern_problem::none || p.back() == '/') return false;
    for (std::size_t i = 0, n = pattern_segment_count(p); i < n; ++i) {
        segment_spec s;
        parse_segment(pattern_segment(p, i), s);
        if (s.kind != segment_kind::literal || s.text.empty()) return false;
    }
    return true;
}

template <route_pattern P>
struct pattern_info {
    static constexpr std::string_view text = P.view();
    static constexpr pattern_problem problem = check_pattern(text);
    static constexpr std::size_t size = problem == pattern_problem::none ? pattern_segment_count(text) : 0;
    static constexpr std::array<segment_spec, size> segments = [] {
        std::array<segment_spec, size> a{};
        for (std::size_t i = 0; i < size; ++i) parse_segment(pattern_segment(text, i), a[i]);
        return a;
    }();
    static constexpr std::size_t param_count = [] {
        std::size_t n = 0;
        for (auto const& s : segments) n += s.kind != segment_kind::literal;
        return n;
    }();
    static constexpr std::array<std::size_t, param_count> param_positions = [] {
        std::array<std::size_t, param_count> a{};
        std::size_t k = 0;
        for (std::size_t i = 0; i < size; ++i)
            if (segments[i].kind != segment_kind::literal) a[k++] = i;
        return a;
    }();
};

// The shape of a mount: its literal prefix, then the rest of the path.
template <route_pattern P>
struct mount_info {
    static constexpr std::string_view text = P.view();
    static constexpr bool valid = valid_mount_prefix(text);
    static constexpr std::size_t prefix_size = valid && text != "/" ? pattern_segment_count(text) : 0;
    static constexpr std::size_t size = prefix_size + 1;
    static constexpr std::array<segment_spec, size> segments = [] {
        std::array<segment_spec, size> a{};
        for (std::size_t i = 0; i < prefix_size; ++i) parse_segment(pattern_segment(text, i), a[i]);
        a[prefix_size] = {segment_kind::rest, {}};
        return a;
    }();
};

// One readable message per kind of mistake; the pattern shows in the instantiation context.
template <route_pattern P>
struct pattern_check {
    static constexpr pattern_problem problem = pattern_info<P>::problem;
    static_assert(problem != pattern_problem::not_rooted, "porthole route pattern: a pattern must start with '/'");
    static_assert(problem != pattern_problem::unbalanced_brace,
                  "porthole route pattern: '{' without a matching '}' (or the reverse)");
    static_assert(problem != pattern_problem::partial_segment,
                  "porthole route pattern: a parameter must be a whole segment, as in /users/{id}");
    static_assert(
        problem != pattern_problem::bad_name,
        "porthole route pattern: a parameter name must be letters, digits and '_', not starting with a digit");
    static_assert(problem != pattern_problem::bad_type,
                  "porthole route pattern: unknown parameter type; use {name}, {name:int}, {name:uint} or {name...}");
    static_assert(problem != pattern_problem::rest_not_last,
                  "porthole route pattern: a {name...} parameter must be the last segment");
    static_assert(problem != pattern_problem::dot_segment,
                  "porthole route pattern: '.' and '..' segments never match a request, so they cannot be routed");
    static_assert(problem != pattern_problem::bad_literal,
                  "porthole route pattern: a literal segment may not contain '%', '?', '#' or NUL");
    static_assert(problem != pattern_problem::duplicate_name, "porthole route pattern: a parameter name is used twice");
    static constexpr bool ok = problem == pattern_problem::none;
};

// ---------------------------------------------------------------- handlers

template <segment_kind K>
struct param_type {
    using type = std::string_view;
};
template <>
struct param_type<segment_kind::integer> {
    using type = std::int64_t;
};
template <>
struct param_type<segment_kind::unsigned_integer> {
    using type = std::uint64_t;
};

template <class... T>
struct type_list {};

template <class Info, std::size_t... I>
type_list<typename param_type<Info::segments[Info::param_positions[I]].kind>::type...> param_types_of(
    std::index_sequence<I...>);
template <class Info>
using param_types = decltype(param_types_of<Info>(std::make_index_sequence<Info::param_count>{}));

// The declared parameters of a callable with one non-template call operator, or of a function.
template <class F, class = void>
struct signature_of {
    static constexpr bool known = false;
};
template <class R, class... A>
struct signature_of<R (*)(A...), void> {
    static constexpr bool known = true;
    using args = type_list<std::remove_cvref_t<A>...>;
};
template <class R, class... A>
struct signature_of<R (*)(A...) noexcept, void> : signature_of<R (*)(A...)> {};
template <class R, class C, class... A>
struct signature_of<R (C::*)(A...), void> : signature_of<R (*)(A...)> {};
template <class R, class C, class... A>
struct signature_of<R (C::*)(A...) const, void> : signature_of<R (*)(A...)> {};
template <class R, class C, class... A>
struct signature_of<R (C::*)(A...) noexcept, void> : signature_of<R (*)(A...)> {};
template <class R, class C, class... A>
struct signature_of<R (C::*)(A...) const noexcept, void> : signature_of<R (*)(A...)> {};
template <class F>
struct signature_of<F, std::void_t<decltype(&F::operator())>> : signature_of<decltype(&F::operator())> {};
// A wrapper whose call operators are templates (porthole::blocking) declares what it wraps,
// whose parameters it takes.
template <class F>
struct declared_by {
    using type = F;
};
template <class F>
requires requires { typename F::porthole_wrapped; }
struct declared_by<F> {
    using type = typename F::porthole_wrapped;
};

enum class handler_form : std::uint8_t {
    none,
    params,                   // (P...)
    request_and_params,       // (request const&, P...)
    request_only,             // (request const&)
    params_and_body,          // (P..., B) with B a body_parameter
    request_params_and_body,  // (request const&, P..., B)
};

// The last declared parameter of a handler (the one before a trailing responder) when it is a
// body parameter, else void.
template <class Args>
struct body_of {
    using type = void;
};
template <class... A>
requires(sizeof...(A) > 0) struct body_of<type_list<A...>> {
    static constexpr std::size_t n = sizeof...(A);
    using tuple = std::tuple<A...>;
    static constexpr std::size_t at =
        n >= 2 && std::is_same_v<std::tuple_element_t<n - 1, tuple>, responder> ? n - 2 : n - 1;
    using candidate = std::tuple_element_t<at, tuple>;
    using type = std::conditional_t<body_parameter<candidate>, candidate, void>;
};
template <class Sig, bool Known = Sig::known>
struct body_of_signature {
    using type = void;  // a generic handler: no body parameter is told from it
};
template <class Sig>
struct body_of_signature<Sig, true> {
    using type = typename body_of<typename Sig::args>::type;
};

template <class H, class Params>
struct handler_traits;
template <class H, class... P>
struct handler_traits<H, type_list<P...>> {
    using sig = signature_of<typename declared_by<H>::type>;
    // A handler with a known signature must name the parameter types exactly (an int for an
    // {id:int} would truncate); a generic one must at least be callable with them.
    static constexpr bool exact(auto list) noexcept {
        if constexpr (sig::known) return std::is_same_v<typename sig::args, decltype(list)>;
        else return true;
    }
    // A body parameter is told by the declared signature (before a responder, if one comes last):
    // generic handlers take none.
    using body = typename body_of_signature<sig>::type;
    // The handler's form with `X...` (nothing, or a responder) after its parameters. Each form is
    // tried only when the ones before it do not fit (if constexpr): asking whether a generic
    // handler takes a request instantiates its body with one.
    template <class... X>
    static constexpr handler_form form_with() noexcept {
        if constexpr (std::is_invocable_v<H&, P..., X...> && exact(type_list<P..., X...>{}))
            return handler_form::params;
        else if constexpr (std::is_invocable_v<H&, request const&, P..., X...> &&
                           exact(type_list<request, P..., X...>{}))
            return handler_form::request_and_params;
        else if constexpr (sizeof...(P) > 0 && std::is_invocable_v<H&, request const&, X...> &&
                           exact(type_list<request, X...>{}))
            return handler_form::request_only;
        else if constexpr (std::is_void_v<body>) return handler_form::none;
        else if constexpr (std::is_invocable_v<H&, P..., body, X...> && exact(type_list<P..., body, X...>{}))
            return handler_form::params_and_body;
        else if constexpr (std::is_invocable_v<H&, request const&, P..., body, X...> &&
                           exact(type_list<request, P..., body, X...>{}))
            return handler_form::request_params_and_body;
        else return handler_form::none;
    }
    // A handler that answers later takes a porthole::responder last and returns nothing.
    // Tried only when no other form fits: a generic handler must not be instantiated with it.
    static constexpr bool later = [] {
        if constexpr (form_with<>() != handler_form::none) return false;
        else return form_with<responder>() != handler_form::none;
    }();
    static constexpr handler_form form = [] {
        if constexpr (later) return form_with<responder>();
        else return form_with<>();
    }();
    template <handler_form F, class... X>
    struct result {
        using type = void;
    };
    template <handler_form F, class... X>
    requires(F == handler_form::params) struct result<F, X...> {
        using type = std::invoke_result_t<H&, P..., X...>;
    };
    template <handler_form F, class... X>
    requires(F == handler_form::request_and_params) struct result<F, X...> {
        using type = std::invoke_result_t<H&, request const&, P..., X...>;
    };
    template <handler_form F, class... X>
    requires(F == handler_form::request_only) struct result<F, X...> {
        using type = std::invoke_result_t<H&, request const&, X...>;
    };
    template <handler_form F, class... X>
    requires(F == handler_form::params_and_body) struct result<F, X...> {
        using type = std::invoke_result_t<H&, P..., body, X...>;
    };
    template <handler_form F, class... X>
    requires(F == handler_form::request_params_and_body) struct result<F, X...> {
        using type = std::invoke_result_t<H&, request const&, P..., body, X...>;
    };
    using result_type = typename std::conditional_t<later, result<form, responder>, result<form>>::type;
    static constexpr bool result_ok = later ? std::is_void_v<result_type> : response_convertible<result_type>;
};

// How a handler fits a pattern, as constraints of router.hpp's route(): a misfit is reported
// where the user wrote the route, and compilers quote the failed concept's line, which explains.
// Under an unsound pattern any handler fits: pattern_check explains that first. So does one
// whose call operator cannot be named (app.hpp): router.hpp says why where it would call it.
template <route_pattern P, class H>
using route_handler_traits = handler_traits<H, param_types<pattern_info<P>>>;
// A concept, so that a handler that fits a form is never probed further (a generic one must
// not be instantiated with what it does not take).
template <route_pattern P, class H>
concept handler_unnamed =
    (route_handler_traits<P, H>::form == handler_form::none) && call_operator_unnamed<typename declared_by<H>::type>;
template <route_pattern P, class H>
inline constexpr bool handler_parameters_fit =
    pattern_info<P>::problem != pattern_problem::none || route_handler_traits<P, H>::form != handler_form::none ||
    handler_unnamed<P, H>;
template <route_pattern P, class H>
inline constexpr bool handler_result_fits = [] {
    if constexpr (pattern_info<P>::problem != pattern_problem::none || handler_unnamed<P, H>) return true;
    else return route_handler_traits<P, H>::result_ok;
}();
// clang-format off
template <route_pattern P, class H>
concept handler_takes_the_patterns_parameters = handler_parameters_fit<P, H>;  // porthole route: the handler's parameters must be the pattern's, in order: std::string_view for {name} and {name...}, std::int64_t for {name:int}, std::uint64_t for {name:uint}, optionally preceded by porthole::request const& (or porthole::request const& alone), optionally followed by a body parameter such as porthole::json_body<T>, then optionally by porthole::responder
template <route_pattern P, class H>
concept handler_returns_an_answer = handler_result_fits<P, H>;  // porthole route: a handler must return porthole::response, a string, a status, or std::optional of one of those (or, taking a porthole::responder last, nothing); a nlohmann::json needs PORTHOLE_WITH_JSON defined before porthole.hpp is included
// clang-format on

inline constexpr std::uint16_t known_methods = (1u << method_names.size()) - 1;

template <route_methods M>
struct methods_check {
    static_assert(M.bits != 0, "porthole route: a route needs at least one method");
    static_assert((M.bits & ~known_methods) == 0, "porthole route: unknown method");
    static_assert((M.bits & method_set(method::connect).bits()) == 0,
                  "porthole route: CONNECT cannot be routed (the connection answers it with 501)");
    static constexpr bool ok = M.bits != 0 && (M.bits & ~known_methods) == 0;
};

}  // namespace detail

}  // namespace porthole
