// porthole/responder.hpp: answering later. A handler that cannot answer at once takes a
// responder for its request and returns porthole::later; any thread then sends the response,
// once, through the responder:
//
//   auto app = [](porthole::request const& req) -> porthole::response {
//       std::thread([answer = porthole::answer_later(req)]() mutable {
//           answer.send(porthole::response::text("done\n"));
//       }).detach();
//       return porthole::later;
//   };
//
// or, the same, with the responder as the last parameter and no return value:
//
//   auto app = [](porthole::request const& req, porthole::responder answer) { ... };
//
// The connection keeps the request's place: answers to pipelined requests behind it wait and
// keep their order. What can happen meanwhile, and what the responder then does:
//   the client leaves        connected() turns false; send() returns false and does nothing
//   the response timeout     the client gets 503 and the connection closes; send() returns false,
//                            replaced() turns true
//   the server stops         the drain waits for the answer up to the drain timeout, then 503 (as
//                            for the response timeout)
//   destroyed unanswered     the client gets 500, and the error log says why
//   sent twice               the second send() throws std::logic_error; the first answer stands
//
// The request's views end with the handler call, as always: copy what the answer needs before
// handing the responder to another thread.
#pragma once

#include <porthole/detail/cxx20.hpp>
#include <porthole/detail/error_log.hpp>

#include <porthole/mailbox.hpp>
#include <porthole/request.hpp>
#include <porthole/response.hpp>
#include <porthole/upgrade.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace porthole {

class worker_pool;

namespace detail {

// What a connection needs of a request to send its answer: views, or copies kept in an
// answer_state for an answer that comes later.
struct request_summary {
    std::string_view method_name, target;
    porthole::version version = http_1_1;
    bool keep_alive = true;
    bool head_only = false;
    static request_summary of(request const& r) noexcept {
        return {r.method_name(), r.target(), r.version(), r.keep_alive(), r.method() == method::head};
    }
};

// One deferred answer, shared by the responder (any thread) and the connection (its thread).
struct answer_state {
    enum class phase : std::uint8_t {
        waiting,   // nobody has answered yet
        answered,  // `answer` holds the response
        dropped,   // the responder went without answering: 500 (problem says why)
        closed,    // the connection took the outcome or gave up waiting: nothing more is heard
    };
    std::mutex mutex;
    phase state = phase::waiting;  // guarded by mutex
    response answer;               // guarded by mutex
    std::string problem;           // guarded by mutex
    bool abandoned = false;        // guarded by mutex: dropped by a responder's destructor
    bool replaced = false;         // guarded by mutex: the connection answered in its place
    std::shared_ptr<connection_link> link;
    // The connection's thread only: what middleware asked to do to the answer, in order, and
    // the request it answers (its names for the access log and the error log's lines).
    std::vector<std::function<void(response&)>> steps;
    request_summary summary;
    std::string method_name, target;

    void keep(request const& req) {
        summary = request_summary::of(req);
        method_name.assign(req.method_name());
        target.assign(req.target());
        summary.method_name = method_name;
        summary.target = target;
    }

    // The connection's thread: nothing more is heard from the responder; `instead`: because the
    // connection answered in its place.
    void close(bool instead = false) noexcept {
        std::lock_guard lock(mutex);
        state = phase::closed;
        replaced = replaced || instead;
    }

    // The connection's thread: the answer once it has come, with every step run on it; a
    // responder that went unanswered, a throwing step or an unsendable answer give `failed()`
    // (a 500), and `log` says why.
    template <class Log, class Failed>
    std::optional<response> take(Log&& log, Failed&& failed) {
        response res;
        std::string why;
        {
            std::lock_guard lock(mutex);
            if (state == phase::waiting) return std::nullopt;
            if (state == phase::answered) res = std::move(answer);
            else why = std::move(problem);
            state = phase::closed;
        }
        if (!why.empty()) {
            log(why);
            res = failed();
        }
        run_steps(res, log, failed);
        return res;
    }

    // The connection's thread: the steps on `res`, the answer or what the connection gives in
    // its place (a 503 when it did not come in time); one that throws, or an answer that cannot
    // be sent, gives `failed()`, and `log` says why. An answer that cannot be sent is replaced
    // before the steps too, so that they see what goes out (the access log layer's status).
    template <class Log, class Failed>
    void run_steps(response& res, Log&& log, Failed&& failed) {
        auto replace_unsendable = [&] {
            if (res.answered_later() || !res.valid()) [[unlikely]] {
                log(res.answered_later() ? std::string("a later answer was porthole::later") : why_invalid(res));
                res = failed();
            }
        };
        replace_unsendable();
        for (auto& step : steps) {
            try {
                step(res);
            } catch (...) {
                log("an answer step threw: " + what_was_thrown());
                res = failed();
            }
        }
        replace_unsendable();
    }

    // Any thread: moves from waiting to `to`; false if it was no longer waiting.
    bool settle(phase to, response* res, std::string why = {}, bool by_destructor = false) {
        {
            std::lock_guard lock(mutex);
            if (!leave_waiting(to, res, why, by_destructor)) return false;
        }
        link->notify();
        return true;
    }

    // Any thread: a 500 with `why` (a body sink's end() threw), however the sink left its
    // responder: kept (its send() is then refused) or dropped by its destructor in the unwinding
    // (`why` replaces that reason), unless an answer came first.
    void fail_with(std::string why) {
        {
            std::lock_guard lock(mutex);
            if (state == phase::dropped && abandoned) {
                problem = std::move(why);
                return;
            }
            if (!leave_waiting(phase::dropped, nullptr, why, false)) return;
        }
        link->notify();
    }

private:
    bool leave_waiting(phase to, response* res, std::string& why, bool by_destructor) {  // mutex held
        if (state != phase::waiting) return false;
        state = to;
        if (res) answer = std::move(*res);
        problem = std::move(why);
        abandoned = by_destructor;
        return true;
    }
};

struct body_consumer;  // body_stream.hpp
template <class Sink>
class body_consumer_of;

// What a connection lends the requests it runs, so that a handler can answer later. The
// connection owns it; a driver attaches its mailbox. Nothing here is allocated until a
// handler calls answer_later().
struct exchange {
    mailbox* box = nullptr;  // the driver's, or null: this connection cannot answer later
    void* tag = nullptr;     // how the driver knows the connection (mailbox::run's ready)
    worker_pool* workers = nullptr;
    void* owner = nullptr;  // the connection, and its notification entry point
    void (*on_notify)(void*) = nullptr;
    void (*log_error)(void*, std::string_view) = nullptr;  // the connection's error log
    std::shared_ptr<connection_link> link;                 // made on first use, kept while the connection lives
    std::shared_ptr<answer_state> started;                 // made by answer_later() during the handler call
    // body_stream.hpp: the request's body is not read yet and may be taken as a stream
    // (body_offered), and the sink that take_body() gave for it.
    bool body_offered = false;
    // Over its limit: a streamed route's take_body() answers 413; unoffered, no handler runs.
    bool body_too_large = false;
    std::shared_ptr<body_consumer> body;
    std::unique_ptr<upgraded_protocol> upgrade;  // left by a handler that answers 101 (upgrade.hpp)

    connection_link& ensure_link() {
        if (!link) {
            if (!box)
                throw std::logic_error(
                    "porthole: this connection's driver gives no mailbox, so it cannot answer later");
            link = connection_link::open(box->shared_from_this(), tag);
            link->set_owner(owner, on_notify);
        }
        return *link;
    }
};

}  // namespace detail

class responder {
public:
    responder() noexcept = default;
    responder(responder&&) noexcept = default;
    responder& operator=(responder&& o) noexcept {
        if (this != &o) {
            abandon();
            state_ = std::move(o.state_);
        }
        return *this;
    }
    ~responder() { abandon(); }

    // Any thread, once: the response to the request. True when it will be sent; false when
    // nobody waits for it any more (the client left, the response timeout passed, the server
    // closed the connection): then it is dropped, harmlessly. Throws std::logic_error when
    // this responder has already answered or holds no request.
    bool send(response res) {
        if (!state_)
            throw std::logic_error(
                "porthole: responder::send on a responder that already answered or holds no request");
        auto state = std::move(state_);
        return state->settle(detail::answer_state::phase::answered, &res);
    }

    // Any thread: whether the client still waits for this answer.
    bool connected() const noexcept {
        if (!state_) return false;
        std::lock_guard lock(state_->mutex);
        return state_->state == detail::answer_state::phase::waiting && state_->link->connected();
    }

    // Any thread: the connection sent an error in this answer's place (503: the response timeout,
    // the end of a drain; or 400, 408 or 413 for a streamed body that broke off). The client
    // takes the request as failed and may send it again, so work for it not yet begun is
    // better not begun (a POST would take effect twice).
    bool replaced() const noexcept {
        if (!state_) return false;
        std::lock_guard lock(state_->mutex);
        return state_->replaced;
    }

    // Holds a request not yet answered.
    explicit operator bool() const noexcept { return static_cast<bool>(state_); }

    // For code that runs a handler elsewhere (blocking.hpp): the handler failed; the client
    // gets 500 and `why` goes to the error log, on the connection's thread.
    void fail(std::string why) noexcept {
        if (auto state = std::move(state_))
            state->settle(detail::answer_state::phase::dropped, nullptr, std::move(why));
    }

private:
    friend responder answer_later(request const& req);
    explicit responder(std::shared_ptr<detail::answer_state> s) noexcept : state_(std::move(s)) {}

    template <class Sink>
    friend class detail::body_consumer_of;

    void abandon() noexcept {
        if (auto state = std::move(state_))
            state->settle(detail::answer_state::phase::dropped, nullptr, "a responder was destroyed without answering",
                          /*by_destructor=*/true);
    }

    std::shared_ptr<detail::answer_state> state_;
};

// Takes the answer to `req` out of the handler call: the handler then returns porthole::later
// (a handler that returns a response anyway has answered, and the responder's send() will be
// refused). Call it on the handler's thread, during the call, at most once per request.
// Throws std::logic_error for a request that did not come from a connection (one built by
// hand), from a driver that gives no mailbox, or asked twice.
inline responder answer_later(request const& req) {
    detail::exchange* ex = detail::exchange_of(req);
    if (!ex) throw std::logic_error("porthole: answer_later() needs a request from a connection");
    if (ex->started) throw std::logic_error("porthole: answer_later() called twice for one request");
    auto state = std::make_shared<detail::answer_state>();
    ex->ensure_link();
    state->link = ex->link;
    ex->started = state;
    return responder(std::move(state));
}

// For code that wraps an application (middleware): after the application returned
// porthole::later for `req`, `step` runs on the answer when it comes, on the connection's
// thread, before it is written; steps run in the order they were added. False, with nothing
// done, when `req` is not waiting for a later answer (the application answered at once: work
// on its response directly).
inline bool when_answered(request const& req, std::function<void(response&)> step) {
    detail::exchange* ex = detail::exchange_of(req);
    if (!ex || !ex->started) return false;
    ex->started->steps.push_back(std::move(step));
    return true;
}

}  // namespace porthole
