// porthole/layer.hpp: layers around an application. A layer sees each request before the
// application and each response after it, and may answer early (401, 403, 429...). Layers
// compose in a declared order, outermost first, resolved at compile time:
//
//   auto app = porthole::layers{porthole::request_id{}, porthole::cors{{.origins = {...}}}}(router);
//
// A program that uses none pays nothing: an application that is not wrapped is called as before.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/app.hpp>
#include <porthole/body_stream.hpp>
#include <porthole/detail/compiler.hpp>
#include <porthole/detail/error_log.hpp>
#include <porthole/responder.hpp>

#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace porthole {

// What a layer's before() returns when it keeps per-request state for its after(): go on to the
// inner application with `state`, or answer now with a response (the inner application and the
// inner layers never run; the outer layers' after() steps still see the answer).
template <class State = std::monostate>
class layer_result {
    static_assert(!std::is_same_v<State, response> && !std::is_same_v<State, status>,
                  "porthole layer_result: the state cannot be a response or a status");

public:
    layer_result() = default;
    layer_result(State s) : state(std::move(s)) {}             // NOLINT: go on, with this state
    layer_result(response r) : answer(std::move(r)) {}         // NOLINT: answer now
    layer_result(porthole::status s) : answer(response(s)) {}  // NOLINT: answer now, empty body

    std::optional<response> answer;
    State state{};
};

// The layer interface. A layer L is a class with
//
//   before(request const& req)  -> void                      go on (optional with after(res))
//                               -> std::optional<response>   nullopt: go on; a response: answer now
//                               -> layer_result<S>           go on with state S, or answer now
//   after(response& res)              optional: change the response on its way out (a layer may
//                                     have this alone: it changes answers, never stops a request)
//   after(S& state, response& res)    the same, with what before() kept (when it returns layer_result<S>)
//   rewrite(S& state, request const& req) -> request
//                                     optional: the request the inner application sees instead
//                                     (its views may point into `state`, which outlives the call)
//
// after() runs on every response the inner application gives, early answers of inner layers
// included, never on the layer's own early answer. When the inner application answers later (a
// responder, a blocking handler, a streamed request body), after() runs on that answer when it
// comes, on the connection's thread, before it is written (responder.hpp's when_answered): so
// the state must be movable and must not keep views of the request.
// A layer is shared by every loop thread: it must be safe to call from several at once.
namespace detail {
template <class T>
struct is_layer_result : std::false_type {};
template <class S>
struct is_layer_result<layer_result<S>> : std::true_type {
    using state_type = S;
};

// What L::before(request const&) returns; void without one (layer_traits then fails the build
// with one message, and nothing else refers to the missing member).
template <class L>
struct before_result_of {
    using type = void;
};
template <class L>
requires requires(L& l, request const& r) { l.before(r); }
struct before_result_of<L> {
    using type = decltype(std::declval<L&>().before(std::declval<request const&>()));
};

// Whether a function's last parameter is a response by value or by const&.
template <class... A>
constexpr bool last_copies_response() noexcept {
    if constexpr (sizeof...(A) == 0) return false;
    else {
        using last = std::tuple_element_t<sizeof...(A) - 1, std::tuple<A...>>;
        return std::is_same_v<last, response> || std::is_same_v<last, response const&>;
    }
}
template <class F>
struct last_parameter_copies_response : std::false_type {};
template <class R, class C, class... A>
struct last_parameter_copies_response<R (C::*)(A...)> : std::bool_constant<last_copies_response<A...>()> {};
template <class R, class C, class... A>
struct last_parameter_copies_response<R (C::*)(A...) const> : std::bool_constant<last_copies_response<A...>()> {};
template <class R, class C, class... A>
struct last_parameter_copies_response<R (C::*)(A...) noexcept> : std::bool_constant<last_copies_response<A...>()> {};
template <class R, class C, class... A>
struct last_parameter_copies_response<R (C::*)(A...) const noexcept>
    : std::bool_constant<last_copies_response<A...>()> {};
template <class R, class... A>
struct last_parameter_copies_response<R (*)(A...)> : std::bool_constant<last_copies_response<A...>()> {};

// What a layer L offers. Complete (and quiet) for a type that is no layer: layer_check says why.
template <class L>
struct layer_traits {
    static constexpr bool has_before = requires(L & l, request const& r) { l.before(r); };
    using before_result = typename before_result_of<L>::type;
    static constexpr bool keeps_state = is_layer_result<before_result>::value;
    // A layer with only after(response&) changes answers and never stops a request. Not one
    // whose before() has another shape (before(request&), say): that must fail the build, or a
    // mistyped check would let every request through.
    static constexpr bool names_before = requires { &L::before; };
    static constexpr bool after_only = !has_before && !names_before && requires(L & l, response& r) { l.after(r); };
    static constexpr bool valid =
        after_only || (has_before && (keeps_state || std::is_void_v<before_result> ||
                                      std::is_same_v<before_result, std::optional<response>>));
    using state = typename std::conditional_t<keeps_state, is_layer_result<before_result>,
                                              is_layer_result<layer_result<>>>::state_type;

    static constexpr bool has_after = [] {
        if constexpr (keeps_state) return requires(L & l, state & s, response & r) {
                l.after(s, r);
            };
        else return requires(L & l, response & r) {
                l.after(r);
            };
    }();
    // An after() that takes a copy of the response, or a const&, would change nothing sent.
    // Judged where after names one function (not overloads, not a template such as after(auto&)).
    static constexpr bool after_changes_in_place = [] {
        if constexpr (has_after && requires { &L::after; })
            return !last_parameter_copies_response<decltype(&L::after)>::value;
        else return true;
    }();
    static constexpr bool has_rewrite = keeps_state && requires(L & l, state& s, request const& r) {
        { l.rewrite(s, r) } -> std::same_as<request>;
    };

    static layer_result<state> before(L& l, request const& req) {
        if constexpr (!valid || after_only) {
            (void)l, (void)req;
            return {};
        } else if constexpr (keeps_state) {
            return l.before(req);
        } else if constexpr (std::is_void_v<before_result>) {
            l.before(req);
            return {};
        } else {
            auto answer = l.before(req);
            if (answer) return std::move(*answer);
            return {};
        }
    }
    static void after(L& l, state& s, response& res) {
        if constexpr (!has_after) {
            (void)l, (void)s, (void)res;
        } else if constexpr (keeps_state) {
            l.after(s, res);
        } else {
            (void)s;
            l.after(res);
        }
    }
};

// The build's one error for a type used as a layer that is not one (a function, not a class:
// a class whose static_assert fails is incomplete to clang, and every use adds an error).
template <class L>
constexpr bool check_layer() {
    using traits = layer_traits<L>;
    static_assert(traits::has_before || !traits::names_before,
                  "porthole layer: before() must take porthole::request const&");
    static_assert(traits::has_before || traits::names_before || traits::after_only,
                  "porthole layer: a layer needs before(porthole::request const&), after(porthole::response&), "
                  "or both");
    static_assert(!traits::has_before || traits::valid,
                  "porthole layer: before() returns void, std::optional<porthole::response> or "
                  "porthole::layer_result<State>");
    static_assert(traits::after_changes_in_place,
                  "porthole layer: after() must take porthole::response& (a copy, or a const&, cannot change the "
                  "answer that is sent)");
    return traits::valid && traits::after_changes_in_place;
}
// A response the connection would not send (response::valid()), replaced inside the layers so
// that every after() runs on the 500 that goes out. Not a 101 for an upgrade (the connection
// judges it), nor where no connection logs (a blocking job: its responder's answer is judged).
PORTHOLE_NOINLINE inline void replace_unsendable(request const& req, response& res) {
    auto* ex = exchange_of(req);
    if (!ex || !ex->log_error || ex->upgrade) return;
    ex->log_error(ex->owner, about_request(why_invalid(res), req.method_name(), req.target()));
    res = response::error(status::internal_server_error);
}

}  // namespace detail

// An application wrapped in layers: Layers[0] outermost, App innermost.
template <class App, class... Layers>
class layered {
    static_assert(detail::check_application<App>());

public:
    explicit layered(App app, Layers... layers) : app_(std::move(app)), layers_(std::move(layers)...) {}
    layered(std::tuple<Layers...> layers, App app) : app_(std::move(app)), layers_(std::move(layers)) {}

    response operator()(request const& req) { return run<0>(req); }

    // A request whose body the connection refuses (app.hpp's answers_refusals): the layers run
    // as for any request, and where the application would be called, its own refusal answers.
    response refuse(request const& head, status refusal) { return run<0, true>(head, refusal); }

    // How the application takes a request's body (body_stream.hpp), when it says.
    std::optional<body_plan> plan_body(request const& head) requires detail::plans_bodies<App> {
        return app_.plan_body(head);
    }

    // Metrics by route for an early answer of a layer around this one (router.hpp).
    static void note_route_for(method m, std::string_view path) noexcept requires requires {
        App::note_route_for(m, path);
    }
    { App::note_route_for(m, path); }

    App& application() noexcept { return app_; }
    template <std::size_t I>
    auto& layer() noexcept {
        return std::get<I>(layers_);
    }

private:
    template <std::size_t I, bool Refusing = false>
    response run(request const& req, status refusal = {}) {
        if constexpr (I == sizeof...(Layers)) {
            // A 500 here, not at the connection, so that every after() runs on it (CORS, the
            // request id, the access log layer); the line goes to the connection's error log.
            (void)refusal;
            response res = [&] {
                try {
                    if constexpr (Refusing) return refuse_through(app_, req, refusal);
                    else return call_application(app_, req);
                } catch (...) {
                    auto* ex = detail::exchange_of(req);
                    if (!ex || !ex->log_error) throw;  // no connection here (a blocking job): its driver logs it
                    ex->log_error(ex->owner, detail::about_exception(req.method_name(), req.target()));
                    return response::error(status::internal_server_error);
                }
            }();
            if (!res.valid()) [[unlikely]]
                detail::replace_unsendable(req, res);  // the same for a response that cannot be sent
            return res;
        } else {
            using L = std::tuple_element_t<I, std::tuple<Layers...>>;
            (void)detail::check_layer<L>();  // its static_asserts explain
            using traits = detail::layer_traits<L>;
            auto& l = std::get<I>(layers_);
            auto step = traits::before(l, req);
            if (step.answer) {
                if constexpr (requires { App::note_route_for(req.method(), req.path()); })
                    App::note_route_for(req.method(), req.path());  // metrics by the route it was for
                return std::move(*step.answer);
            }
            response res = [&] {
                if constexpr (traits::has_rewrite) return run<I + 1, Refusing>(l.rewrite(step.state, req), refusal);
                else return run<I + 1, Refusing>(req, refusal);
            }();
            if constexpr (traits::has_after) {
                if (res.answered_later()) [[unlikely]]
                    defer_after<I>(req, std::move(step.state));
                else traits::after(l, step.state, res);
            }
            return res;
        }
    }

    // The inner application answers later (responder.hpp, blocking.hpp, a streamed body): the
    // after() step runs on that answer, on the connection's thread, before it is written.
    template <std::size_t I, class State>
    PORTHOLE_NOINLINE void defer_after(request const& req, State state) {
        using L = std::tuple_element_t<I, std::tuple<Layers...>>;
        // std::function wants a copyable target: the state is shared, not copied.
        when_answered(req, [&l = std::get<I>(layers_), kept = std::make_shared<State>(std::move(state))](
                               response& res) { detail::layer_traits<L>::after(l, *kept, res); });
    }

    App app_;
    std::tuple<Layers...> layers_;
};

// A list of layers, outermost first; applied to an application it gives one:
//   porthole::layers{a, b, c}(app)  ==  a around (b around (c around app))
template <class... Layers>
class layers {
public:
    explicit layers(Layers... l) : layers_(std::move(l)...) {}

    template <class App>
    layered<std::decay_t<App>, Layers...> operator()(App&& app) const& {
        static_assert(detail::check_application<std::decay_t<App>>());
        return layered<std::decay_t<App>, Layers...>(layers_, std::forward<App>(app));
    }
    template <class App>
    layered<std::decay_t<App>, Layers...> operator()(App&& app) && {
        static_assert(detail::check_application<std::decay_t<App>>());
        return layered<std::decay_t<App>, Layers...>(std::move(layers_), std::forward<App>(app));
    }

private:
    std::tuple<Layers...> layers_;
};
template <class... L>
layers(L...) -> layers<L...>;

// A layer that applies `inner` only to the requests `applies(req)` is true for, e.g.
//   porthole::when([](porthole::request const& r) { return r.method() != porthole::method::get; },
//                  porthole::basic_auth{...})
template <class Predicate, class Inner>
class when {
    using traits = detail::layer_traits<Inner>;
    using inner_state = typename traits::state;

public:
    when(Predicate applies, Inner inner) : applies_(std::move(applies)), inner_(std::move(inner)) {}

    layer_result<std::optional<inner_state>> before(request const& req) {
        (void)detail::check_layer<Inner>();  // its static_asserts explain
        if (!applies_(req)) return std::optional<inner_state>{};
        auto step = traits::before(inner_, req);
        if (step.answer) return std::move(*step.answer);
        return std::optional<inner_state>(std::move(step.state));
    }
    void after(std::optional<inner_state>& s, response& res) requires traits::has_after {
        if (s) traits::after(inner_, *s, res);
    }
    request rewrite(std::optional<inner_state>& s, request const& req) requires traits::has_rewrite {
        return s ? inner_.rewrite(*s, req) : req;
    }

private:
    Predicate applies_;
    Inner inner_;
};

}  // namespace porthole
