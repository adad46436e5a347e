// porthole/blocking.hpp: handlers that block (a database call, a sleep, a slow computation)
// run on the server's worker pool, and the loop serves other connections meanwhile:
//
//   porthole::get<"/report/{id}">(porthole::blocking([](std::string_view id) { return slow_report(id); }))
//   porthole::serve(porthole::blocking(app), opts)      // a whole application
//
// The wrapped handler takes and returns what it would unwrapped. It gets a copy of the request
// (and of its path parameters) that lives as long as the call, so it may take its time. Built
// on responder.hpp: the request's place is held, later pipelined requests wait, and the
// response timeout applies. When every pool thread is busy and server_options::worker_queue
// jobs already wait, the answer is 503 with Retry-After: 1, at once. Without a pool (a bare
// connection, porthole::testing) the handler runs inline.
#pragma once

#include <porthole/detail/cxx20.hpp>
#include <porthole/detail/error_log.hpp>

#include <porthole/app.hpp>
#include <porthole/responder.hpp>
#include <porthole/worker_pool.hpp>

#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace porthole {

namespace detail {

// A request whose views point into storage of its own, for a handler that runs after the
// connection has moved on.
class request_copy {
public:
    explicit request_copy(request const& r) {
        std::size_t total = r.method_name().size() + r.target().size() + r.path().size() + r.raw_path().size() +
                            r.query_string().size() + r.body().size() + r.peer().size() + r.client_subject().size();
        for (auto const& f : r.headers()) total += f.name.size() + f.value.size();
        for (auto const& p : r.params()) total += p.name.size() + p.value.size();
        text_.reserve(total);  // never moves again: the views below stay valid
        headers_.reserve(r.headers().size());
        for (auto const& f : r.headers()) headers_.push_back({keep(f.name), keep(f.value)});
        params_.reserve(r.params().size());
        for (auto const& p : r.params()) params_.push_back({keep(p.name), keep(p.value)});
        request::parts parts{r.method(),
                             keep(r.method_name()),
                             keep(r.target()),
                             r.version(),
                             keep(r.path()),
                             keep(r.raw_path()),
                             keep(r.query_string()),
                             headers_,
                             keep(r.body()),
                             r.keep_alive(),
                             keep(r.peer()),
                             r.secure(),
                             keep(r.client_subject()),
                             nullptr};
        req_ = request(parts).with_params(params_);
    }
    request_copy(request_copy const&) = delete;
    request_copy& operator=(request_copy const&) = delete;
    request const& get() const noexcept { return req_; }

private:
    std::string_view keep(std::string_view v) {
        std::size_t at = text_.size();
        text_.append(v);
        return std::string_view(text_).substr(at, v.size());
    }
    std::string text_;
    std::vector<header_field> headers_;
    std::vector<path_param> params_;
    request req_;
};

// A path parameter's text, copied for later (a body parameter that is a std::string stays one).
struct kept_text {
    explicit kept_text(std::string_view v) : text(v) {}
    std::string text;
};
// A handler's argument kept for later: text is copied, numbers and a body parameter are values.
template <class T>
using kept_argument = std::conditional_t<std::is_same_v<std::decay_t<T>, std::string_view>, kept_text, std::decay_t<T>>;

inline response busy_response() {
    response res = response::error(status::service_unavailable);
    res.set_header("Retry-After", "1");
    return res;
}

}  // namespace detail

template <class Handler>
class blocking_handler {
public:
    using porthole_blocking = void;    // the router passes the request to run() for parameter-only handlers
    using porthole_wrapped = Handler;  // the router reads its parameters (a body among them) from Handler

    explicit blocking_handler(Handler h) : handler_(std::make_shared<Handler>(std::move(h))) {}

    // As an application, or a route handler that takes the request (and path parameters).
    template <class... Args>
    requires std::invocable<Handler&, request const&, Args...> response operator()(request const& req,
                                                                                   Args&&... args) const {
        return run<true>(req, std::forward<Args>(args)...);
    }
    // As a route handler that takes the path parameters alone. The router calls run() with the
    // request instead; called directly, with no request to answer later through, it runs inline.
    template <class... Args>
    requires std::invocable<Handler&, Args...> response operator()(Args&&... args) const {
        return to_response(std::invoke(*handler_, std::forward<Args>(args)...));
    }

    // Runs the handler on the pool of the connection that `req` came from.
    template <bool PassRequest, class... Args>
    response run(request const& req, Args&&... args) const {
        detail::exchange* ex = detail::exchange_of(req);
        if (!ex || !ex->workers || !ex->box) {  // no pool: inline
            if constexpr (PassRequest) return to_response(std::invoke(*handler_, req, std::forward<Args>(args)...));
            else return to_response(std::invoke(*handler_, std::forward<Args>(args)...));
        }
        auto copy = PassRequest ? std::make_unique<detail::request_copy>(req) : nullptr;
        auto task = [h = handler_, copy = std::shared_ptr<detail::request_copy>(std::move(copy)),
                     args = std::tuple<detail::kept_argument<Args>...>(std::forward<Args>(args)...),
                     answer = answer_later(req), safe = safe_methods.contains(req.method())]() mutable {
            // The client was told 503 while the job waited (the response timeout, the end of a
            // drain): it takes the request as failed, and may send it again. The client left:
            // a safe request has no effect to keep and nobody to answer; others run (their
            // effect may be wanted unanswered).
            if (answer.replaced() || (safe && !answer.connected())) return;
            try {
                response res = std::apply(
                    [&](auto&... kept) {
                        if constexpr (PassRequest)
                            return to_response(std::invoke(*h, copy->get(), as_argument(kept)...));
                        else return to_response(std::invoke(*h, as_argument(kept)...));
                    },
                    args);
                worker_pool::job_finishing();  // the client may ask again as soon as it has the answer
                answer.send(std::move(res));
            } catch (...) {
                worker_pool::job_finishing();
                answer.fail("blocking handler threw: " + detail::what_was_thrown());
            }
        };
        // std::function wants a copyable target, and a responder is not: the task is shared.
        std::function<void()> job = [shared = std::make_shared<decltype(task)>(std::move(task))] { (*shared)(); };
        if (!ex->workers->try_submit(job)) {
            // Answered at once after all: the job's responder is retired before it goes, so
            // that going unanswered is not taken for a fault.
            ex->started->close();
            ex->started.reset();
            job = nullptr;
            return detail::busy_response();
        }
        return later;
    }

private:
    // Each argument is used once: a body parameter is moved into the handler's call.
    template <class T>
    static decltype(auto) as_argument(T& kept) {
        if constexpr (std::is_same_v<T, detail::kept_text>) return std::string_view(kept.text);
        else return std::move(kept);
    }

    std::shared_ptr<Handler> handler_;  // shared with jobs in flight
};

// Marks a handler (or a whole application) as blocking: it runs on the server's worker pool.
template <class Handler>
blocking_handler<std::decay_t<Handler>> blocking(Handler&& h) {
    return blocking_handler<std::decay_t<Handler>>(std::forward<Handler>(h));
}

}  // namespace porthole
