// route_pattern.hpp: patterns parsed and checked at compile time, and the handler shapes a
// pattern accepts. The parsing functions are constexpr: what holds at compile time is
// static_asserted, and the same functions run again at run time on strings the compiler cannot
// see, where the sanitizers watch them. (What must not compile is in tests/compile_fail.)
#include <porthole/route_pattern.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

using namespace porthole;
using detail::handler_form;
using detail::pattern_problem;
using detail::segment_kind;

namespace {

// A body parameter for the handler shapes that take one.
struct payload {
    std::string text;
};

}  // namespace

template <>
struct porthole::body_reader<payload> {
    static std::optional<payload> read(request const& req, response&) { return payload{std::string(req.body())}; }
};

namespace {

// The problem check_pattern finds in a string known only at run time.
pattern_problem problem_at_run_time(std::string text) { return detail::check_pattern(text); }

template <route_pattern P>
constexpr std::string_view text_of() {
    return P.view();
}

template <route_pattern P, class H>
using traits_for = detail::handler_traits<H, detail::param_types<detail::pattern_info<P>>>;

}  // namespace

TEST_CASE("a pattern literal keeps its text, without the terminating NUL") {
    static_assert(text_of<"/users/{id:int}">() == "/users/{id:int}");
    static_assert(text_of<"/">() == "/");
    static_assert(route_pattern("/abc").view().size() == 4);
    CHECK(text_of<"/a/{b}">() == "/a/{b}");
}

TEST_CASE("route_methods takes one method or a set of them") {
    static_assert(route_methods(method::get).bits == method_set(method::get).bits());
    static_assert(route_methods(GET | PUT).bits == (method_set(method::get).bits() | method_set(method::put).bits()));
    static_assert(detail::methods_check<method::post>::ok);
    static_assert(detail::methods_check<GET | HEAD>::ok);
    // known_methods is one bit per method name, and no bit for method::other.
    static_assert(detail::known_methods == 0x1ff);
    CHECK(route_methods(method::patch).bits == 1u << static_cast<unsigned>(method::patch));
}

TEST_CASE("segments are counted and cut as url::segments splits a request path") {
    static_assert(detail::pattern_segment_count("/") == 1);
    static_assert(detail::pattern_segment_count("/a/b") == 2);
    static_assert(detail::pattern_segment_count("/a/") == 2);  // a trailing slash: one more, empty
    static_assert(detail::pattern_segment("/", 0).empty());
    static_assert(detail::pattern_segment("/a/b/c", 1) == "b");
    static_assert(detail::pattern_segment("/a/", 1).empty());
    // Compared with the splitter a request path goes through, segment by segment.
    for (std::string_view p : {"/", "/a", "/a/", "/a//b", "/users/{id}/posts"}) {
        CAPTURE(p);
        std::size_t i = 0;
        for (auto seg : url::segments(p)) {
            REQUIRE(i < detail::pattern_segment_count(p));
            CHECK(detail::pattern_segment(p, i) == seg);
            ++i;
        }
        CHECK(i == detail::pattern_segment_count(p));
    }
}

TEST_CASE("each parameter form parses to its kind and name") {
    using info = detail::pattern_info<"/users/{id:int}/at/{offset:uint}/{slug}/{rest...}">;
    static_assert(info::problem == pattern_problem::none);
    static_assert(info::size == 6);
    static_assert(info::segments[0].kind == segment_kind::literal && info::segments[0].text == "users");
    static_assert(info::segments[1].kind == segment_kind::integer && info::segments[1].text == "id");
    static_assert(info::segments[2].kind == segment_kind::literal && info::segments[2].text == "at");
    static_assert(info::segments[3].kind == segment_kind::unsigned_integer && info::segments[3].text == "offset");
    static_assert(info::segments[4].kind == segment_kind::string && info::segments[4].text == "slug");
    static_assert(info::segments[5].kind == segment_kind::rest && info::segments[5].text == "rest");
    static_assert(info::param_count == 4);
    static_assert(info::param_positions == std::array<std::size_t, 4>{1, 3, 4, 5});
    // The parameters' C++ types, in order.
    static_assert(std::is_same_v<detail::param_types<info>,
                                 detail::type_list<std::int64_t, std::uint64_t, std::string_view, std::string_view>>);

    using root = detail::pattern_info<"/">;
    static_assert(root::size == 1 && root::segments[0].kind == segment_kind::literal && root::segments[0].text.empty());
    static_assert(root::param_count == 0);
    static_assert(std::is_same_v<detail::param_types<root>, detail::type_list<>>);

    // The same parse at run time.
    detail::segment_spec s;
    std::string seg = "{n_2:uint}";
    REQUIRE(detail::parse_segment(seg, s) == pattern_problem::none);
    CHECK(s.kind == segment_kind::unsigned_integer);
    CHECK(s.text == "n_2");
}

TEST_CASE("every mistake in a pattern is named") {
    static_assert(detail::check_pattern("") == pattern_problem::not_rooted);
    static_assert(detail::check_pattern("users") == pattern_problem::not_rooted);
    static_assert(detail::check_pattern("/{id") == pattern_problem::unbalanced_brace);
    static_assert(detail::check_pattern("/id}") == pattern_problem::unbalanced_brace);
    static_assert(detail::check_pattern("/}id{") == pattern_problem::unbalanced_brace);
    static_assert(detail::check_pattern("/{{id}}") == pattern_problem::unbalanced_brace);
    static_assert(detail::check_pattern("/user-{id}") == pattern_problem::partial_segment);
    static_assert(detail::check_pattern("/{id}.json") == pattern_problem::partial_segment);
    static_assert(detail::check_pattern("/{}") == pattern_problem::bad_name);
    static_assert(detail::check_pattern("/{1id}") == pattern_problem::bad_name);
    static_assert(detail::check_pattern("/{my-id}") == pattern_problem::bad_name);
    static_assert(detail::check_pattern("/{:int}") == pattern_problem::bad_name);
    static_assert(detail::check_pattern("/{...}") == pattern_problem::bad_name);
    static_assert(detail::check_pattern("/{id:float}") == pattern_problem::bad_type);
    static_assert(detail::check_pattern("/{id:}") == pattern_problem::bad_type);
    static_assert(detail::check_pattern("/{id:Int}") == pattern_problem::bad_type);
    static_assert(detail::check_pattern("/{rest...}/more") == pattern_problem::rest_not_last);
    static_assert(detail::check_pattern("/a/./b") == pattern_problem::dot_segment);
    static_assert(detail::check_pattern("/a/..") == pattern_problem::dot_segment);
    static_assert(detail::check_pattern("/a%20b") == pattern_problem::bad_literal);
    static_assert(detail::check_pattern("/a?b") == pattern_problem::bad_literal);
    static_assert(detail::check_pattern("/a#b") == pattern_problem::bad_literal);
    static_assert(detail::check_pattern("/{id}/{id}") == pattern_problem::duplicate_name);
    static_assert(detail::check_pattern("/{id:int}/x/{id...}") == pattern_problem::duplicate_name);
    // What is fine: names of letters, digits and '_', dots inside a literal, a literal that
    // repeats a parameter's name, empty segments.
    static_assert(detail::check_pattern("/_a1/{B_2}/{c3:int}") == pattern_problem::none);
    static_assert(detail::check_pattern("/file.tar.gz/...x") == pattern_problem::none);
    static_assert(detail::check_pattern("/id/{id}") == pattern_problem::none);
    static_assert(detail::check_pattern("/a//b/") == pattern_problem::none);
    static_assert(detail::check_pattern("/{rest...}") == pattern_problem::none);
    static_assert(detail::pattern_check<"/users/{id:int}">::ok);

    // At run time, including a NUL the compiler's literals would end at.
    CHECK(problem_at_run_time(std::string("/a\0b", 4)) == pattern_problem::bad_literal);
    CHECK(problem_at_run_time("/{x}/{y}/{x:int}") == pattern_problem::duplicate_name);
    CHECK(problem_at_run_time("/ok/{fine}") == pattern_problem::none);
    CHECK(problem_at_run_time("no-slash") == pattern_problem::not_rooted);
}

TEST_CASE("a mount prefix is '/' or literal segments without a trailing slash") {
    static_assert(detail::valid_mount_prefix("/"));
    static_assert(detail::valid_mount_prefix("/api"));
    static_assert(detail::valid_mount_prefix("/api/v1"));
    static_assert(!detail::valid_mount_prefix("/api/"));
    static_assert(!detail::valid_mount_prefix("/api/{v}"));
    static_assert(!detail::valid_mount_prefix("/a//b"));  // an empty segment
    static_assert(!detail::valid_mount_prefix("api"));
    static_assert(!detail::valid_mount_prefix(""));

    using api = detail::mount_info<"/api/v1">;
    static_assert(api::valid && api::prefix_size == 2 && api::size == 3);
    static_assert(api::segments[0].text == "api" && api::segments[1].text == "v1");
    static_assert(api::segments[2].kind == segment_kind::rest);
    using root = detail::mount_info<"/">;
    static_assert(root::valid && root::prefix_size == 0 && root::segments[0].kind == segment_kind::rest);
    CHECK(detail::valid_mount_prefix(std::string("/static")));
}

namespace {
std::string plain_function(std::int64_t id) { return std::to_string(id); }
struct const_functor {
    response operator()(request const&, std::int64_t) const { return status::ok; }
};
}  // namespace

TEST_CASE("the handler forms a pattern accepts, told from the declared parameters") {
    constexpr auto params = [](std::int64_t, std::string_view) { return "x"; };
    constexpr auto with_request = [](request const&, std::int64_t, std::string_view) { return "x"; };
    constexpr auto request_only = [](request const&) { return "x"; };
    constexpr auto with_body = [](std::int64_t, std::string_view, payload) { return "x"; };
    constexpr auto request_and_body = [](request const&, std::int64_t, std::string_view, payload const&) {
        return "x";
    };
    constexpr auto answers_later_handler = [](std::int64_t, std::string_view, responder) {};
    constexpr auto generic = [](auto const&...) { return "x"; };

    static_assert(traits_for<"/u/{id:int}/{name}", decltype(params)>::form == handler_form::params);
    static_assert(traits_for<"/u/{id:int}/{name}", decltype(with_request)>::form == handler_form::request_and_params);
    static_assert(traits_for<"/u/{id:int}/{name}", decltype(request_only)>::form == handler_form::request_only);
    static_assert(traits_for<"/u/{id:int}/{name}", decltype(with_body)>::form == handler_form::params_and_body);
    static_assert(traits_for<"/u/{id:int}/{name}", decltype(request_and_body)>::form ==
                  handler_form::request_params_and_body);
    static_assert(std::is_same_v<traits_for<"/u/{id:int}/{name}", decltype(with_body)>::body, payload>);
    static_assert(traits_for<"/u/{id:int}/{name}", decltype(answers_later_handler)>::later);
    static_assert(traits_for<"/u/{id:int}/{name}", decltype(answers_later_handler)>::form == handler_form::params);
    static_assert(!traits_for<"/u/{id:int}/{name}", decltype(params)>::later);
    // A generic handler is taken as it is called, with the parameters.
    static_assert(traits_for<"/u/{id:int}/{name}", decltype(generic)>::form == handler_form::params);
    // Functions and call operators, const or not, have their parameters read too.
    static_assert(traits_for<"/{id:int}", decltype(&plain_function)>::form == handler_form::params);
    static_assert(traits_for<"/{id:int}", const_functor>::form == handler_form::request_and_params);
    // A pattern without parameters: a handler of nothing, or of the request.
    static_assert(traits_for<"/", decltype([] { return "x"; })>::form == handler_form::params);
    static_assert(traits_for<"/", decltype([](request const&) { return "x"; })>::form ==
                  handler_form::request_and_params);
    // Both fit their route as a whole: the parameters, and the answer (later, for the second).
    static_assert(detail::handler_takes_the_patterns_parameters<"/u/{id:int}/{name}", decltype(params)> &&
                  detail::handler_returns_an_answer<"/u/{id:int}/{name}", decltype(params)>);
    static_assert(
        detail::handler_takes_the_patterns_parameters<"/u/{id:int}/{name}", decltype(answers_later_handler)> &&
        detail::handler_returns_an_answer<"/u/{id:int}/{name}", decltype(answers_later_handler)>);
    static_assert(!detail::handler_returns_an_answer<"/u", decltype([] {})>);
    static_assert(!detail::handler_takes_the_patterns_parameters<"/u/{id:int}", decltype([](int) { return "x"; })>);
    // The handlers are real: called as the router would call each form.
    CHECK(plain_function(-7) == "-7");
    CHECK(std::string_view(params(1, "a")) == "x");
}

TEST_CASE("a handler must name the parameters' types exactly, in order, and return an answer") {
    // An int for {id:int} would truncate a 64-bit value: refused although callable.
    static_assert(traits_for<"/{id:int}", decltype([](int) { return "x"; })>::form == handler_form::none);
    static_assert(traits_for<"/{id:uint}", decltype([](std::int64_t) { return "x"; })>::form == handler_form::none);
    static_assert(traits_for<"/{id:int}", decltype([](std::string_view) { return "x"; })>::form == handler_form::none);
    static_assert(traits_for<"/{a}/{b:int}", decltype([](std::int64_t, std::string_view) { return "x"; })>::form ==
                  handler_form::none);                                                            // the wrong order
    static_assert(traits_for<"/{a}", decltype([] { return "x"; })>::form == handler_form::none);  // one missing
    // Qualifiers do not matter: a const& string_view is a string_view.
    static_assert(traits_for<"/{a}", decltype([](std::string_view const&) { return "x"; })>::form ==
                  handler_form::params);
    // The result must convert to a response; a handler that answers later returns nothing.
    static_assert(!traits_for<"/{a}", decltype([](std::string_view) { return 1; })>::result_ok);
    static_assert(!traits_for<"/{a}", decltype([](std::string_view) {})>::result_ok);
    static_assert(
        traits_for<"/{a}", decltype([](std::string_view) { return std::optional<std::string>{}; })>::result_ok);
    static_assert(
        std::is_same_v<traits_for<"/{a:uint}", decltype([](std::uint64_t) { return status::ok; })>::result_type,
                       status>);
    // A body parameter is only read from a declared signature, and must be a body_parameter.
    static_assert(
        std::is_void_v<traits_for<"/{a}", decltype([](std::string_view, std::string) { return "x"; })>::body>);
    static_assert(traits_for<"/{a}", decltype([](std::string_view, std::string) { return "x"; })>::form ==
                  handler_form::none);
    CHECK(traits_for<"/{id:int}", decltype([](int) { return "x"; })>::form == handler_form::none);
}

TEST_CASE("signature_of reads the declared parameters, without cv or references") {
    using lambda = decltype([](request const&, std::int64_t&&, std::string_view const) noexcept { return 0; });
    static_assert(detail::signature_of<lambda>::known);
    static_assert(
        std::is_same_v<detail::signature_of<lambda>::args, detail::type_list<request, std::int64_t, std::string_view>>);
    static_assert(detail::signature_of<decltype(&plain_function)>::known);
    static_assert(!detail::signature_of<decltype([](auto) { return 0; })>::known);
    static_assert(!detail::signature_of<int>::known);
    CHECK(detail::signature_of<const_functor>::known);
}
