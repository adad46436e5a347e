// porthole/app.hpp: the application interface. Any callable that takes `request const&` and
// returns a response, or something convertible to one, is an application: a lambda, a router,
// a static file handler, a mount of one under a prefix.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/request.hpp>
#include <porthole/responder.hpp>
#include <porthole/response.hpp>

#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace porthole {

class html;  // a rendered template (template.hpp); declared here so that it converts

// More types a handler may return: specialize response_converter<T> with
//   static response convert(T const& value);
// (json.hpp does it for nlohmann::json.)
template <class T>
struct response_converter;

// A handler parameter read from the request body (router.hpp: a route handler may take one
// after the path's parameters): specialize body_reader<T> with
//   static std::optional<T> read(request const& req, response& refusal);
// which gives the value, or nullopt and sets `refusal` (a 400, 413, 415...) to answer with.
// (json.hpp does it for porthole::json_body<T>.)
template <class T>
struct body_reader;

template <class T>
concept body_parameter = requires(request const& req, response& refusal) {
    { body_reader<T>::read(req, refusal) } -> std::same_as<std::optional<T>>;
};

namespace detail {
template <class T>
concept has_response_converter = requires(T const& v) {
    { response_converter<T>::convert(v) } -> std::same_as<response>;
};

template <class T>
struct converts_to_response
    : std::bool_constant<std::same_as<T, response> || std::same_as<T, status> || std::same_as<T, later_t> ||
                         std::same_as<T, html> || std::convertible_to<T, std::string_view> ||
                         has_response_converter<T>> {};
template <class T>
struct converts_to_response<std::optional<T>> : converts_to_response<T> {};
}  // namespace detail

// What a handler may return:
//   response                     as it is
//   std::string                  200 text/plain, the string as body
//   const char* (a literal)      200 text/plain, the characters as a static body (not copied)
//   std::string_view             200 text/plain, copied (a view may not outlive the handler)
//   status                       an empty response with that status
//   porthole::later              the answer comes later, through a responder (responder.hpp)
//   porthole::html               200 text/html (a rendered template)
//   std::optional<T>             nullopt -> 404, else T converted
//   T with a response_converter  what its convert() makes (nlohmann::json with json.hpp)
template <class T>
concept response_convertible = detail::converts_to_response<std::remove_cvref_t<T>>::value;

template <response_convertible T>
response to_response(T&& value) {
    using V = std::remove_cvref_t<T>;
    if constexpr (std::same_as<V, response>) {
        return std::forward<T>(value);
    } else if constexpr (std::same_as<V, status> || std::same_as<V, later_t>) {
        return response(value);
    } else if constexpr (std::same_as<V, html>) {
        return response::html(std::forward<T>(value));
    } else if constexpr (detail::has_response_converter<V>) {  // before conversions the type may also have
        return response_converter<V>::convert(value);
    } else if constexpr (std::same_as<V, std::string>) {
        return response::text(std::forward<T>(value));
    } else if constexpr (std::is_convertible_v<T, char const*>) {
        return response::static_text(std::string_view(static_cast<char const*>(value)));
    } else if constexpr (std::convertible_to<T, std::string_view>) {
        return response::text(std::string(std::string_view(value)));
    } else {
        if (!value) return response::error(status::not_found);  // the same page as a router's miss
        return to_response(*std::forward<T>(value));
    }
}

// An application answers a request at once or later (responder.hpp). At once: callable with a
// request, returning something convertible to a response. Later: callable with a request and
// a responder, returning nothing; it answers through the responder, from any thread.
template <class F>
concept answers_later = std::invocable<F&, request const&, responder> &&
    std::is_void_v<std::invoke_result_t<F&, request const&, responder>>;
template <class F>
concept application = (std::invocable<F&, request const&> &&
                       response_convertible<std::invoke_result_t<F&, request const&>>) ||
                      answers_later<F>;

namespace detail {
// Whether a class declares a call operator at all, however many and of whatever kind: lookup
// of operator() in a class derived from it and from one that has one is then ambiguous.
struct call_operator_probe {
    void operator()() const;
};
template <class F>
struct call_operator_lookup : F, call_operator_probe {};
template <class F>
concept has_call_operator = std::is_class_v<F> && !std::is_final_v<F> && !requires {
    &call_operator_lookup<F>::operator();
};
template <class F>
concept call_operator_named = requires {
    &F::operator();
};
// Its type too: g++ accepts naming a generic lambda's operator()<request> whose body has an
// error, but the result has no type.
template <class F>
concept call_operator_named_for_request = requires {
    typename std::type_identity<decltype(&F::template operator()<request>)>::type;
};

// A class with a call operator that cannot be named, neither as a function nor as a template
// taking the request. Most often its return type was to be deduced from a body with an error
// in it, which the compiler has reported already at the user's line: a second error about the
// callable's shape would mislead.
template <class F>
concept call_operator_unnamed = has_call_operator<F> && !call_operator_named<F> && !call_operator_named_for_request<F>;

// Such an application, which cannot be called with a request either: no error is added about
// it here; one that only does not fit (overloads of which none takes a request, a generic
// lambda with more parameters) is explained by the compiler at the call (call_application).
template <class F>
concept application_unnamed =
    call_operator_unnamed<F> && !std::invocable<F&, request const&> && !std::invocable<F&, request const&, responder>;

// What a public entry point (serve(), server, application_ref...) requires of an application,
// so that a misfit is reported at the user's line, with the concept's line quoted below it.
// clang-format off
template <class F>
concept fits_application = application<F> || application_unnamed<F>;  // porthole: an application must be callable as f(porthole::request const&) returning porthole::response, a string, a status or std::optional of one of those; or as f(porthole::request const&, porthole::responder) returning void
// clang-format on

// What porthole::server runs in place of an application that does not fit, whose constructor
// has said so: never called.
struct unfit_application {
    response operator()(request const&) const { return response(status::internal_server_error); }
};

// Stated where an application is used, for the callers that reach it without an entry point's
// constraint. Always true: a failed assertion is the one error, and the caller's own
// static_assert adds none.
template <class F>
constexpr bool check_application() {
    if constexpr (!answers_later<F> && !application_unnamed<F>) {
        static_assert(std::invocable<F&, request const&>,
                      "porthole: an application must be callable as f(porthole::request const&), or as "
                      "f(porthole::request const&, porthole::responder) returning void");
        if constexpr (std::invocable<F&, request const&>)
            static_assert(response_convertible<std::invoke_result_t<F&, request const&>>,
                          "porthole: an application must return porthole::response, a string, a status, "
                          "or std::optional of one of those");
    }
    return true;
}
}  // namespace detail

// Calls an application and converts what it returns.
template <class F>
response call_application(F& app, request const& req) {
    static_assert(detail::check_application<F>());
    if constexpr (answers_later<F>) {
        app(req, answer_later(req));
        return later;
    } else if constexpr (!application<F>) {
        // Not compiled into a program: an error is out already, or the call says what is wrong.
        if constexpr (detail::application_unnamed<F>) (void)app(req);
        return response(status::internal_server_error);
    } else if constexpr (std::same_as<std::invoke_result_t<F&, request const&>, response>) {
        return app(req);  // built in place, not moved
    } else {
        return to_response(app(req));
    }
}

// An application that answers a request whose body the connection refuses (413: over
// server_options::limits.max_body or its route's limit) in place of the handler that would have
// had it: `app.refuse(head, status)`, with `head` the request without its body. The router and
// layered applications do, so that the router's 404 and 405, authentication, CORS, the access log
// and metrics see the refusal as any other answer; the handler never runs. Any other application
// is answered by the connection itself.
template <class App>
concept answers_refusals = requires(App& app, request const& head, status st) {
    { app.refuse(head, st) } -> std::same_as<response>;
};

// Answers `head` with `refusal` through `app` when it answers refusals, or with the plain page.
template <class App>
response refuse_through(App& app, request const& head, status refusal) {
    if constexpr (answers_refusals<App>) return app.refuse(head, refusal);
    else return response::error(refusal);
}

}  // namespace porthole
