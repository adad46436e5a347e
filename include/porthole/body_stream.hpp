// porthole/body_stream.hpp: request bodies taken as a stream of pieces as they arrive, so that a
// route can take a body larger than memory (an upload of gigabytes) while every other route
// keeps the connection's max_body.
//
// A route says so with streamed_body(), which the connection asks about from the request's head
// alone, before any of its body is read; its handler then runs at once, with the head, and either
// refuses (returns a response: 401, 415...) or hands a sink to take_body():
//
//   struct to_file {
//       int fd;
//       void data(std::string_view piece) { write_all(fd, piece); }  // each piece, in order
//       porthole::response end() { return porthole::response::text("stored\n"); }  // all arrived
//   };
//   porthole::post<"/upload">(porthole::streamed_body({.max_size = 8ull << 30}, [](porthole::request const& req) {
//       return porthole::take_body(req, to_file{open_somewhere()});
//   }))
//
// A sink has
//   data(std::string_view piece) -> void | body_flow   each piece of the decoded body (Content-Length
//                                   or chunked), on the connection's thread; the view ends with
//                                   the call. body_flow::wait: take no more until the body_resumer
//                                   from take_body() is resumed (from any thread); body_flow::stop:
//                                   the sink wants no more (end() answers, the connection then closes)
//   end() -> response-convertible | end(responder) -> void
//                                   the body arrived whole (or the sink stopped it): the answer, now
//                                   or later through the responder
//   abort() (optional)              the body will not arrive whole: the client left, its framing
//                                   broke (400), it passed max_size (413); nobody waits for an answer
//
// Backpressure: the connection reads no more while a sink waits, and while data() runs; what it
// holds of the body is at most one read. The answer is an answer that comes later
// (responder.hpp): layers' after() steps, the response timeout (which starts once the body is in)
// and the access log apply to it as to any other. Requests pipelined behind wait their turn.
// An application that answers such a request at once (a layer's 401) gets its answer sent; the
// body is then read and dropped (with Expect: 100-continue or Connection: close, or a
// Content-Length over max_size, the connection closes after the answer instead).
#pragma once

#include <porthole/detail/cxx20.hpp>
#include <porthole/detail/error_log.hpp>

#include <porthole/app.hpp>
#include <porthole/mailbox.hpp>
#include <porthole/multipart.hpp>
#include <porthole/parser.hpp>
#include <porthole/request.hpp>
#include <porthole/responder.hpp>
#include <porthole/response.hpp>

#include <atomic>
#include <algorithm>
#include <concepts>
#include <functional>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace porthole {

// How a request's body is taken, told from its head (streamed_body's options).
struct body_plan {
    std::uint64_t max_size = 1024 * 1024;  // 413 beyond (the decoded size of a chunked body)
    bool streamed = true;                  // false: read whole before the handler, up to max_size
};

// What a sink's data() may return.
enum class body_flow : std::uint8_t {
    more,  // the piece is taken: go on
    wait,  // taken, but read no more until body_resumer::resume()
    stop,  // no more is wanted: end() gives the answer, and the connection closes after it
};

namespace detail {

// What a sink's or a form's data(piece) may return: void (every piece is taken) or a body_flow.
template <class T>
concept takes_pieces = requires(T& t, std::string_view piece) {
    {t.data(piece)};
}
&&(std::is_void_v<decltype(std::declval<T&>().data(std::string_view{}))> ||
   std::is_same_v<decltype(std::declval<T&>().data(std::string_view{})), body_flow>);

// A sink take_body() takes: its pieces, and an end() that answers now or through a responder.
template <class Sink>
concept body_sink = takes_pieces<Sink> &&(
    requires(Sink& s) { s.end(); } || requires(Sink & s, responder r) { s.end(std::move(r)); });

// Gives `piece` to t.data(): its flow, or more for a data() that returns void.
template <takes_pieces T>
body_flow give_piece(T& t, std::string_view piece) {
    if constexpr (std::is_void_v<decltype(t.data(piece))>) {
        t.data(piece);
        return body_flow::more;
    } else {
        return t.data(piece);
    }
}

// The connection's side of a sink taken by take_body(), type-erased.
struct body_consumer {
    virtual ~body_consumer() = default;
    virtual body_flow data(std::string_view piece) = 0;
    // The sink kept part of a piece when it waited (a multipart form that waited inside it):
    // it is given an empty piece, to go on with that, before any more of the body.
    virtual bool has_backlog() const noexcept = 0;
    virtual void end() = 0;  // answers through the responder it holds
    virtual void abort() noexcept = 0;
    std::shared_ptr<connection_link> link;  // to wake the connection when a waiting sink resumes
    std::atomic<bool> resume_wanted{false};
};

template <class Sink>
class body_consumer_of final : public body_consumer {
public:
    body_consumer_of(Sink sink, responder answer) : sink_(std::move(sink)), answer_(std::move(answer)) {}

    body_flow data(std::string_view piece) override { return give_piece(sink_, piece); }
    bool has_backlog() const noexcept override {
        if constexpr (requires(Sink const& s) { s.has_backlog(); }) return sink_.has_backlog();
        else return false;
    }
    // A sink whose end() throws gets the 500, and the error log the exception, whether it kept
    // the responder it took or dropped it in throwing (which asked for the 500 already, with a
    // reason the exception replaces).
    void end() override {
        std::shared_ptr<answer_state> handed;
        try {
            if constexpr (requires(Sink & s, responder r) { s.end(std::move(r)); }) {
                handed = answer_.state_;
                sink_.end(std::move(answer_));
            } else {
                answer_.send(to_response(sink_.end()));
            }
        } catch (...) {
            std::string why = "a body sink's end() threw: " + what_was_thrown();
            if (handed) handed->fail_with(std::move(why));
            else answer_.fail(std::move(why));
        }
    }
    void abort() noexcept override {
        if constexpr (requires(Sink & s) { s.abort(); }) {
            try {
                sink_.abort();
            } catch (...) {  // the body is lost either way
            }
        }
        answer_.fail("the request body did not arrive whole");
    }

private:
    Sink sink_;
    responder answer_;
};

// Where a request's body stands while the connection streams it (or drops it): the framing
// decoded piece by piece, never more than one read held.
struct incoming_body {
    std::shared_ptr<body_consumer> consumer;  // null: the body is read and dropped
    body_framing framing = body_framing::content_length;
    std::uint64_t left = 0;  // Content-Length: bytes still to come
    chunked_decoder chunked;
    bool waiting = false;  // the sink said wait: nothing is taken until it resumes
    bool whole = false;    // every byte of the body went to the sink: end() is next (once resumed)

    incoming_body(std::shared_ptr<body_consumer> c, request_head const& head, parser_limits limits, std::uint64_t max)
        : consumer(std::move(c)),
          framing(head.framing == body_framing::chunked ? body_framing::chunked : body_framing::content_length),
          left(head.framing == body_framing::content_length ? head.content_length : 0),
          chunked(with_max(limits, max)) {}

    static parser_limits with_max(parser_limits l, std::uint64_t max) noexcept {
        l.max_body = max;
        return l;
    }

    struct step {
        std::size_t used = 0;
        parse_status status = parse_status::incomplete;
        parse_error error = parse_error::none;
        body_flow flow = body_flow::more;
    };
    // Takes what it can of [data, data + size): decoded pieces go to the sink. Chunked bodies
    // are decoded in place.
    step take(char* data, std::size_t size) {
        step s;
        if (consumer && consumer->has_backlog()) {  // what the sink kept when it waited comes first
            s.flow = consumer->data({});
            if (s.flow != body_flow::more || consumer->has_backlog()) {
                s.status = whole ? parse_status::complete : parse_status::incomplete;
                return s;
            }
        }
        if (whole) {
            s.status = parse_status::complete;
            return s;
        }
        if (framing == body_framing::content_length) {
            auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, size));
            left -= n;
            s.used = n;
            if (n != 0 && consumer) s.flow = consumer->data(std::string_view(data, n));
            s.status = left == 0 ? parse_status::complete : parse_status::incomplete;
            whole = left == 0;
            return s;
        }
        auto r = chunked.decode(data, size, data);
        s.used = r.consumed;
        s.status = r.status;
        if (r.status == parse_status::error) {
            s.error = chunked.error();
            return s;
        }
        whole = r.status == parse_status::complete;
        if (r.produced != 0 && consumer) s.flow = consumer->data(std::string_view(data, r.produced));
        return s;
    }
};

}  // namespace detail

// Wakes a connection whose body sink said body_flow::wait. Copyable; any thread.
class body_resumer {
public:
    body_resumer() = default;
    explicit body_resumer(std::shared_ptr<detail::body_consumer> const& c) noexcept : consumer_(c) {}
    // The connection takes the next piece soon, on its thread. False when nobody is there any more.
    bool resume() const {
        auto consumer = consumer_.lock();
        if (!consumer || !consumer->link) return false;
        consumer->resume_wanted.store(true, std::memory_order_release);
        return consumer->link->notify();
    }

private:
    // Not an owner: a sink that keeps its own resumer (as the docs suggest) would otherwise hold
    // itself, and never be freed.
    std::weak_ptr<detail::body_consumer> consumer_;
};

// What a route handler that takes its body as a stream returns: porthole::later, and the
// resumer for a sink that waits; or, for a body that was refused before a byte of it was read,
// that refusal: 413 (its Content-Length over the route's max_size), 415 (take_multipart(), not
// multipart/form-data). Converts to a response.
struct body_taken {
    body_resumer resumer;
    porthole::status refused{};  // none: taken
    // NOLINTNEXTLINE(google-explicit-constructor): returned from a handler
    operator response() const { return refused == porthole::status{} ? response(later) : response::error(refused); }
};

template <>
struct response_converter<body_taken> {
    static response convert(body_taken const& t) { return t; }
};

// How a request's body reaches the application. For a layer, which sees every request: a body
// that was not read is not judged by an empty req.body().
enum class body_delivery : std::uint8_t {
    whole,    // read whole: req.body() (empty when the request has none)
    offered,  // not read yet: a streamed_body route's handler takes it as it arrives (take_body())
    refused,  // never read: over its limit, answered 413 where the handler would be (app.hpp)
};
inline body_delivery body_delivery_of(request const& req) noexcept {
    auto const* ex = detail::exchange_of(req);
    if (!ex) return body_delivery::whole;
    if (ex->body_offered) return body_delivery::offered;
    return ex->body_too_large ? body_delivery::refused : body_delivery::whole;
}

namespace detail {
// take_body() for a sink of the right shape.
template <body_sink Sink>
body_taken hand_body(request const& req, Sink sink) {
    detail::exchange* ex = detail::exchange_of(req);
    if (!ex || !ex->body_offered || ex->body)
        throw std::logic_error("porthole: take_body() needs a request of a streamed_body route, asked once");
    if (ex->body_too_large) {      // the body will not come: the sink is told as for one cut short
        ex->body_offered = false;  // asked once
        if constexpr (requires(Sink & s) { s.abort(); }) {
            try {
                sink.abort();
            } catch (...) {  // refused either way
            }
        }
        return body_taken{{}, status::content_too_large};
    }
    auto answer = answer_later(req);
    auto consumer = std::make_shared<detail::body_consumer_of<Sink>>(std::move(sink), std::move(answer));
    consumer->link = ex->link;
    ex->body = consumer;
    return body_taken{body_resumer(consumer)};
}
}  // namespace detail

// From a handler of a streamed_body route, during its call, once: the request's body goes to
// `sink` piece by piece as it arrives, and the sink's end() answers. A body whose Content-Length
// is over the route's max_size is not taken: the sink's abort() is called, the result is 413
// (RFC 9110 section 15.5.14), and the connection closes after it without reading the body. Throws std::logic_error for
// a request whose body the connection is not streaming (a route not wrapped in streamed_body, a request built by hand,
// or asked twice).
template <class Sink>
body_taken take_body(request const& req, Sink sink) {
    static_assert(
        detail::takes_pieces<Sink>,
        "porthole take_body: a sink needs data(std::string_view piece) returning void or porthole::body_flow");
    static_assert(
        requires(Sink & s) { s.end(); } || requires(Sink & s, responder r) { s.end(std::move(r)); },
        "porthole take_body: a sink needs end() returning a response, or end(porthole::responder)");
    if constexpr (detail::body_sink<Sink>) return detail::hand_body(req, std::move(sink));
    else return {};  // refused above: no second error after the one that says why
}

// A sink for a multipart/form-data body (RFC 7578), parsed as it streams with
// multipart::stream_parser, so that a file upload goes to disk without being held whole.
// `form` has
//   part(multipart::part const& p)             a part begins: name, filename, content type (views
//                                              end with the call)
//   data(std::string_view piece) -> void | body_flow   its content, in pieces
//   part_end()                                 it ended
//   end() -> response-convertible | end(responder)     the body is whole and well formed, or
//                                              the form's data() said stop
//   abort() (optional)                         it will not be
// A malformed body, or one that ends before its close delimiter, is answered 400 without end().
template <class Form>
class multipart_sink {
    static constexpr bool answers_later = requires(Form & f, responder r) { f.end(std::move(r)); };
    static_assert(
        requires(Form & f, multipart::part const& p) {
            f.part(p);
            f.part_end();
        },
        "porthole::take_multipart: a form needs part(porthole::multipart::part const&) and part_end()");
    static_assert(
        detail::takes_pieces<Form>,
        "porthole::take_multipart: a form needs data(std::string_view) returning void or porthole::body_flow");

public:
    multipart_sink(std::string_view boundary, Form form, std::size_t max_parts = 100)
        : parser_(boundary, max_parts), form_(std::move(form)) {}

    // The form's flow: wait or stop pauses the parser right after the form's data() (the rest
    // of the piece is held, and the connection calls again with an empty piece to go on).
    body_flow data(std::string_view piece) {
        relay r{form_, body_flow::more};
        bool well_formed = parser_.feed(piece, r);
        if (r.flow == body_flow::stop) stopped_ = true;
        return well_formed ? r.flow : body_flow::stop;
    }
    // The form waited inside a piece: the rest is to be parsed before any more is taken.
    bool has_backlog() const noexcept { return parser_.paused(); }
    response end() requires(!answers_later) {
        if (!parser_.done() && !stopped_) return malformed();
        return to_response(form_.end());
    }
    void end(responder answer) requires answers_later {
        if (!parser_.done() && !stopped_) {
            answer.send(malformed());
            return;
        }
        form_.end(std::move(answer));
    }
    void abort() { form_abort(); }

private:
    struct relay {
        Form& form;
        body_flow flow;
        void part(multipart::part const& p) { form.part(p); }
        bool data(std::string_view piece) {  // false: the parser pauses
            flow = detail::give_piece(form, piece);
            return flow == body_flow::more;
        }
        void part_end() { form.part_end(); }
    };
    response malformed() {
        form_abort();
        return response::text("malformed multipart/form-data body\n", status::bad_request);
    }
    void form_abort() {
        if constexpr (requires(Form & f) { f.abort(); }) form_.abort();
    }

    multipart::stream_parser parser_;
    Form form_;
    bool stopped_ = false;  // the form's data() said stop: its end() answers
};

// take_body() with a multipart_sink for the request's boundary (its resumer for a form that
// waits), or a 415 refusal when the request's Content-Type is not multipart/form-data with a
// valid boundary.
template <class Form>
body_taken take_multipart(request const& req, Form form, std::size_t max_parts = 100) {
    auto type = req.header("Content-Type").value_or("");
    auto boundary = multipart::boundary_from_content_type(type);
    if (!boundary || !iequals(detail::media_type(type), "multipart/form-data"))
        return body_taken{{}, status::unsupported_media_type};
    return take_body(req, multipart_sink<Form>(*boundary, std::move(form), max_parts));
}

// A route handler whose request body streams (see the top of this file). Takes and returns what
// the handler does; the router asks plan() before the body is read.
template <class Handler>
class streamed_body_handler {
public:
    streamed_body_handler(body_plan plan, Handler h) : plan_(plan), handler_(std::move(h)) {}

    body_plan plan() const noexcept { return plan_; }

    template <class... Args>
    requires std::invocable<Handler&, Args...>
    decltype(auto) operator()(Args&&... args) { return std::invoke(handler_, std::forward<Args>(args)...); }

private:
    body_plan plan_;
    Handler handler_;
};

// Marks a route handler as taking its body as a stream, up to plan.max_size bytes; with
// plan.streamed = false, as taking it whole, up to plan.max_size (a per-route body limit).
template <class Handler>
streamed_body_handler<std::decay_t<Handler>> streamed_body(body_plan plan, Handler&& h) {
    return streamed_body_handler<std::decay_t<Handler>>(plan, std::forward<Handler>(h));
}

namespace detail {
template <class T>
struct is_streamed_body_handler : std::false_type {};
template <class H>
struct is_streamed_body_handler<streamed_body_handler<H>> : std::true_type {};

// An application that tells, from a request's head, how its body is to be taken (a router with
// streamed_body routes, layers around one): the connection asks it before reading the body.
template <class App>
concept plans_bodies = requires(App& app, request const& head) {
    { app.plan_body(head) } -> std::same_as<std::optional<body_plan>>;
};
}  // namespace detail

class application_ref;  // application_ref.hpp: it tells at run time whether it plans bodies

}  // namespace porthole
