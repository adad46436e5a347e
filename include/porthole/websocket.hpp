// porthole/websocket.hpp: WebSocket (RFC 6455) as a route. The route answers the opening
// handshake with 101, then the connection speaks WebSocket through ws::connection; the
// application hears open, text, binary and close, and sends through the session it is given or,
// from any thread, through a ws::handle.
//
//   porthole::router app{
//       porthole::websocket<"/echo/{room}">({
//           .on_open = [](ws::session& s, request const&) { s.send_text(s.param("room")); },
//           .on_text = [](ws::session& s, std::string_view m) { s.send_text(m); },
//       }),
//   };
//
// Threads. Callbacks run on the connection's thread (its event loop); the session is that
// thread's alone. A ws::handle may be kept and used from any thread: it appends to the
// connection's outbox under a short lock and wakes the loop through the connection's link
// (mailbox.hpp); it never waits for the network. Each outbox takes a message while it holds
// at most config::max_queued_output bytes, as does the connection's own queue behind it.
//
// A slow reader. When a send finds the queue full, nothing more is queued, what waits unsent is
// dropped and the connection closes with 1013 (try again later): the server is healthy, this
// client reads too slowly to keep up, and may come back. 1008 (policy violation) would tell the
// client it did something forbidden, which it did not.
#pragma once

#include <porthole/detail/cxx20.hpp>
#include <porthole/detail/error_log.hpp>

#include <porthole/mailbox.hpp>
#include <porthole/request.hpp>
#include <porthole/responder.hpp>
#include <porthole/router.hpp>
#include <porthole/upgrade.hpp>
#include <porthole/websocket_connection.hpp>
#include <porthole/websocket_handshake.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace porthole::ws {

class session;

namespace detail {

// What other threads hand one connection, in order. Guarded by `mutex`, but `link`, set once.
struct outbox {
    struct item {
        enum kind_t : std::uint8_t { text, binary, shared, ping, close } kind = text;
        std::string data;
        shared_frame frame;
        close_code code = close_code::normal_closure;
    };
    std::mutex mutex;
    std::vector<item> items;
    std::size_t bytes = 0;
    std::size_t limit = 0;
    bool open = true;         // false once the connection is closing or gone
    bool overflowed = false;  // a send found it full: the connection closes with 1013
    std::shared_ptr<connection_link> link;
    // The connection's own queue (connection::held_for_output), as its thread last saw it:
    // written by that thread alone, read by handle::queued_bytes.
    std::atomic<std::size_t> held_by_connection{0};
    // Each entry counts at least as much as the frame it becomes in the connection's queue: its
    // header at most, cost_per_frame, and what permessage-deflate can add to bytes that do not
    // compress (zlib's deflateBound: with a 15-bit window and memLevel 8 or 9, under 1/2048 of
    // them and a few bytes; with a smaller window, which a client may ask for, or less memory,
    // its bound for any settings, under 1/8 + 1/64). So a producer pacing itself by
    // handle::queued_bytes never finds the connection's queue fuller than it counted, and empty
    // messages are bounded too.
    static constexpr std::size_t entry_cost = connection::cost_per_frame + max_frame_header + 16;
    bool narrow_deflate = false;  // set once, before any handle exists
    std::size_t counted(std::size_t size) const noexcept {
        return size + (narrow_deflate ? (size >> 3) + (size >> 6) + 8 : size >> 11) + entry_cost;
    }

    // Any thread: queues `it` and wakes the connection's thread. An outbox past its limit takes
    // nothing more, and the connection closes with 1013 when its thread sees it. Checked before,
    // as a session's send is: one message of any size goes in behind an outbox under the limit.
    bool put(item&& it, std::size_t size) {
        bool queued = false;
        {
            std::lock_guard lock(mutex);
            if (!open) return false;
            size = counted(size);
            if (bytes > limit) {
                overflowed = true;
                open = false;
                items.clear();
                bytes = 0;
            } else {
                items.push_back(std::move(it));
                bytes += size;
                queued = true;
            }
        }
        return link && link->notify() && queued;
    }
    void shut() {
        std::lock_guard lock(mutex);
        open = false;
        items.clear();
        bytes = 0;
    }
};

}  // namespace detail

// A connection's address for any thread. Copyable, and usable const (a lambda's copy of it needs no
// `mutable`); cheap to keep per connection. Every call
// returns at once: true when the frame was queued, false when it was not (the connection is
// closing or gone, the argument is invalid, or the queue was full, which closes the
// connection with 1013). Frames sent through one handle go out in the order sent.
class handle {
public:
    handle() noexcept = default;

    bool send_text(std::string_view utf8) const {
        if (!box_ || !porthole::detail::valid_utf8(utf8)) return false;
        return put({detail::outbox::item::text, std::string(utf8), {}, {}}, utf8.size());
    }
    bool send_binary(std::string_view bytes) const {
        if (!box_) return false;
        return put({detail::outbox::item::binary, std::string(bytes), {}, {}}, bytes.size());
    }
    // A frame encoded once for many connections (see group): no copy per connection.
    bool send(shared_frame const& frame) const {
        if (!box_ || !frame) return false;
        return put({detail::outbox::item::shared, {}, frame, {}}, frame.bytes().size());
    }
    bool ping(std::string_view data = {}) const {
        if (!box_ || data.size() > max_control_payload) return false;
        return put({detail::outbox::item::ping, std::string(data), {}, {}}, data.size());
    }
    // Starts the closing handshake (RFC 6455 7.1.2) after what was queued before it.
    bool close(close_code code = close_code::normal_closure, std::string_view reason = {}) const {
        if (!box_ || !valid_close_code(to_int(code)) || reason.size() > max_close_reason ||
            !porthole::detail::valid_utf8(reason))
            return false;
        return put({detail::outbox::item::close, std::string(reason), {}, code}, reason.size());
    }
    // The bytes waiting to go to this client, as counted against config::max_queued_output
    // (each message's entry too: its frame's header and connection::cost_per_frame at most,
    // and what compression may add):
    // messages sent through handles that the connection's thread has not taken yet, and that
    // thread's own queue as of its last write to the socket. A producer paces itself with it: a
    // send past the limit closes the connection with 1013; sending only while queued_bytes() and
    // the message's size are within the limit does not, and this staying high says the client
    // reads slowly. 0 once the connection is closing or gone, and for an empty handle.
    // Advisory: it can change right after.
    std::size_t queued_bytes() const {
        if (!box_) return 0;
        std::lock_guard lock(box_->mutex);
        if (!box_->open) return 0;
        return box_->bytes + box_->held_by_connection.load(std::memory_order_relaxed);
    }
    // Whether the connection is still open for sending. Advisory: it can change right after.
    bool connected() const {
        if (!box_) return false;
        std::lock_guard lock(box_->mutex);
        return box_->open && (!box_->link || box_->link->connected());
    }
    explicit operator bool() const noexcept { return static_cast<bool>(box_); }
    friend bool operator==(handle const& a, handle const& b) noexcept { return a.box_ == b.box_; }
    // Distinct for every connection while its handle lives: a key for maps.
    std::uintptr_t id() const noexcept { return reinterpret_cast<std::uintptr_t>(box_.get()); }

private:
    friend class session;
    explicit handle(std::shared_ptr<detail::outbox> b) noexcept : box_(std::move(b)) {}
    bool put(detail::outbox::item&& it, std::size_t size) const { return box_->put(std::move(it), size); }
    std::shared_ptr<detail::outbox> box_;
};

// A set of connections to broadcast to (a chat room, a dashboard's viewers). Thread-safe.
// broadcast() encodes the message once and queues the same bytes on every member; members whose
// connection has gone are dropped on the way.
class group {
public:
    void add(handle h) {
        std::lock_guard lock(mutex_);
        members_.emplace(h.id(), std::move(h));
    }
    void remove(handle const& h) {
        std::lock_guard lock(mutex_);
        members_.erase(h.id());
    }
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return members_.size();
    }
    // Returns how many members it was queued for. `except`: a member left out (the sender of
    // a chat message, which already has it).
    std::size_t broadcast(shared_frame const& frame, handle const& except = {}) {
        std::size_t n = 0;
        std::lock_guard lock(mutex_);
        for (auto it = members_.begin(); it != members_.end();) {
            if (except && it->first == except.id()) {
                ++it;
            } else if (it->second.send(frame)) {
                ++n;
                ++it;
            } else if (!it->second.connected()) {
                it = members_.erase(it);
            } else {
                ++it;
            }
        }
        return n;
    }
    std::size_t broadcast_text(std::string_view utf8, handle const& except = {}) {
        return broadcast(shared_frame::text(utf8), except);
    }
    std::size_t broadcast_binary(std::string_view bytes, handle const& except = {}) {
        return broadcast(shared_frame::binary(bytes), except);
    }

private:
    mutable std::mutex mutex_;
    std::unordered_map<std::uintptr_t, handle> members_;
};

// The connection as its callbacks see it, on its own thread. Sends queue at once (see
// ws::connection for the results); the driver writes them.
class session {
public:
    send_result send_text(std::string_view utf8) { return after(conn_.send_text(utf8)); }
    send_result send_binary(std::string_view bytes) { return after(conn_.send_binary(bytes)); }
    send_result send(shared_frame const& frame) { return after(conn_.send(frame)); }
    send_result ping(std::string_view data = {}) { return after(conn_.ping(data)); }
    send_result close(close_code code = close_code::normal_closure, std::string_view reason = {}) {
        return after(conn_.close(code, reason));
    }

    // The path parameter `name` of the route ("/chat/{room}": param("room")), as decoded for the
    // upgrade request. Like request::param, a plain view: the route that matched has every
    // parameter of its pattern, and a name it lacks (a mistake in the program) gives an empty one.
    std::string_view param(std::string_view name) const noexcept {
        for (auto const& [k, v] : params_)
            if (k == name) return v;
        return {};
    }
    std::string_view subprotocol() const noexcept { return subprotocol_; }
    std::string_view peer() const noexcept { return peer_; }
    // This connection's address for other threads.
    ws::handle handle() const { return ws::handle(box_); }
    std::size_t queued_bytes() const noexcept { return conn_.queued_bytes(); }
    ws::phase phase() const noexcept { return conn_.phase(); }

    // What the application keeps with the connection (a user name, a subscription), if anything.
    std::shared_ptr<void> user_data;

private:
    template <class>
    friend class upgrade;
    session(ws::config const& c, std::optional<deflate_params> d, deflate_options const& o) : conn_(c, d, o) {}

    send_result after(send_result r) {
        if (conn_.phase() != ws::phase::open && box_ && !box_shut_) {
            box_shut_ = true;
            box_->shut();
        }
        return r;
    }

    ws::connection conn_;
    std::shared_ptr<detail::outbox> box_;
    bool box_shut_ = false;
    std::vector<std::pair<std::string, std::string>> params_;
    std::string subprotocol_;
    std::string peer_;
};

namespace detail {

template <class>
inline constexpr bool callback_fits = false;

// One of handlers' callbacks: a std::function whose converting constructor says, in the first
// error, which shapes fit, where std::function's own would report "could not convert" naming
// no field (a message taken as std::string is the usual cause: a view does not convert to it).
template <class Signature>
class callback;

template <class... Args>
class callback<void(Args...)> : public std::function<void(Args...)> {
public:
    callback() = default;
    callback(std::nullptr_t) noexcept {}

    // Implicit: a lambda in a designated initializer. The requires-clause keeps the copy and
    // move constructors in play, which clang-tidy 14 sees only in enable_if.
    template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, callback>)
        callback(F&& f) {  // NOLINT(bugprone-forwarding-reference-overload)
        if constexpr (std::is_invocable_v<std::decay_t<F>&, Args...>) {
            std::function<void(Args...)>::operator=(std::forward<F>(f));
        } else {
            static_assert(callback_fits<F>,
                          "this WebSocket callback cannot take what its field passes: on_open takes "
                          "(ws::session&, request const&); on_text and on_binary (ws::session&, "
                          "std::string_view), a view, not a std::string; on_close (ws::session&, "
                          "ws::close_code, std::string_view)");
        }
    }
};

}  // namespace detail

// The callbacks of a WebSocket route, in RFC 6455's terms (4.2.2, 6.2, 7.1.4). Each runs on the
// connection's thread; one that throws closes the connection with 1011 (internal error).
struct handlers {
    // The connection is established (the 101 is queued): the upgrade request, with its path
    // parameters, is at hand during this call only.
    detail::callback<void(session&, request const&)> on_open{};
    // A message has been received (text: valid UTF-8). The view ends with the call.
    detail::callback<void(session&, std::string_view)> on_text{};
    detail::callback<void(session&, std::string_view)> on_binary{};
    // The connection is closed, once per connection: the peer's code (1005 if it gave none) and
    // reason, the code this end failed with, or 1006 when it ended without a Close frame.
    detail::callback<void(session&, close_code, std::string_view reason)> on_close{};
};

struct options {
    handshake_options handshake{};  // subprotocols, the Origin policy (same origin), permessage-deflate
    ws::config limits{};            // message size, outgoing queue (role stays server)
};

namespace detail {

struct route_state {
    ws::handlers handlers;
    ws::options options;
};

inline void report_error(std::string_view what) {
    std::fprintf(stderr, "porthole: WebSocket %.*s\n", static_cast<int>(what.size()), what.data());
}

}  // namespace detail

// The protocol after a WebSocket 101: bytes to events to callbacks, the outbox to frames.
template <class State = detail::route_state>
class upgrade final : public porthole::detail::upgraded_protocol {
public:
    // During the handler call: `link` reaches the connection from other threads (null when
    // its driver gives no mailbox).
    upgrade(std::shared_ptr<State const> route, request const& req, handshake&& h,
            std::shared_ptr<connection_link> link)
        : route_(std::move(route)), session_(limits(route_->options), h.deflate, route_->options.handshake.deflate) {
        for (auto const& p : req.params()) session_.params_.emplace_back(std::string(p.name), std::string(p.value));
        session_.subprotocol_ = std::move(h.subprotocol);
        session_.peer_.assign(req.peer());
        auto box = std::make_shared<detail::outbox>();
        box->limit = route_->options.limits.max_queued_output;
        box->narrow_deflate =
            h.deflate && (h.deflate->server_max_window_bits < 15 || route_->options.handshake.deflate.mem_level < 8);
        box->link = std::move(link);
        session_.box_ = std::move(box);
    }

    // Still during the handler call, while the request (and its path parameters) lives: what
    // on_open sends follows the 101, which the connection writes first.
    void open(request const& req) {
        if (auto const& f = route_->handlers.on_open) guarded([&] { f(session_, req); });
    }

    void start(bool draining) override {
        if (draining) drain();
    }

    std::span<char> read_buffer() override { return conn().read_buffer(); }
    void commit(std::size_t n) override {
        conn().commit(n);
        pump();
    }
    void feed(std::span<char> bytes) override {
        conn().feed(bytes);
        pump();
    }
    void read_eof() noexcept override {
        conn().read_eof();
        quietly([&] { pump(); });
    }
    std::span<std::string_view const> pending_output() override { return conn().pending_output(); }
    void written(std::size_t n) override {
        conn().written(n);
        show_queued();
    }
    bool has_output() const noexcept override { return session_.conn_.has_output(); }
    bool wants_read() const noexcept override { return session_.conn_.wants_read(); }
    state phase() const noexcept override {
        switch (session_.conn_.phase()) {
            case ws::phase::open: return state::open;
            case ws::phase::closing: return state::closing;
            default: return state::closed;
        }
    }
    // The keep-alive clock (a ping; the peer given up when the last one is unanswered) or the
    // close clock (the peer never answered this end's Close).
    void timeout() override {
        if (conn().phase() == ws::phase::open) (void)conn().heartbeat();
        else conn().timeout();
        pump();
    }
    void transport_backlog(std::size_t bytes) noexcept override { conn().transport_backlog(bytes); }
    void drain() noexcept override {
        quietly([&] {
            conn().going_away();
            session_.after(send_result::queued);
            pump();
        });
    }
    void shrink() override { conn().shrink(); }
    void on_notify() override {
        auto& box = *session_.box_;
        std::vector<detail::outbox::item> items;
        bool overflowed;
        {
            std::lock_guard lock(box.mutex);
            items.swap(box.items);
            // Counted as the connection's until pump() says what they became: queued_bytes()
            // never dips while they move.
            box.held_by_connection.store(conn().held_for_output() + box.bytes, std::memory_order_relaxed);
            box.bytes = 0;
            overflowed = box.overflowed;
        }
        if (overflowed) {
            conn().shed_slow_client();
        } else {
            for (auto& it : items) {
                send_result r = send_result::queued;
                switch (it.kind) {
                    case detail::outbox::item::text: r = session_.send_text(it.data); break;
                    case detail::outbox::item::binary: r = session_.send_binary(it.data); break;
                    case detail::outbox::item::shared: r = session_.send(it.frame); break;
                    case detail::outbox::item::ping: r = session_.ping(it.data); break;
                    case detail::outbox::item::close: r = session_.close(it.code, it.data); break;
                }
                if (r == send_result::not_open || r == send_result::overflow) break;
            }
        }
        pump();
    }
    void end() noexcept override {
        if (session_.box_) session_.box_->shut();
        if (!close_heard_) {
            close_heard_ = true;
            if (auto const& f = route_->handlers.on_close)
                quietly([&] { f(session_, close_code::abnormal_closure, {}); });
        }
    }

private:
    static ws::config limits(ws::options const& o) {
        auto c = o.limits;
        c.role = role::server;
        return c;
    }
    ws::connection& conn() noexcept { return session_.conn_; }

    // Every event the input holds, to its callback.
    void pump() {
        auto const& h = route_->handlers;
        while (auto e = conn().next()) {
            switch (e->type) {
                case event_type::text:
                    if (h.on_text) guarded([&] { h.on_text(session_, e->data); });
                    break;
                case event_type::binary:
                    if (h.on_binary) guarded([&] { h.on_binary(session_, e->data); });
                    break;
                case event_type::close:
                    close_heard_ = true;
                    session_.after(send_result::queued);
                    if (h.on_close) {
                        auto code = e->code;
                        std::string reason(e->data);
                        quietly([&] { h.on_close(session_, code, reason); });
                    }
                    break;
                default: break;  // pings are answered by ws::connection; pongs end a heartbeat
            }
        }
        session_.after(send_result::queued);
        show_queued();
    }

    // For handle::queued_bytes: one relaxed store, on this thread.
    void show_queued() noexcept {
        session_.box_->held_by_connection.store(conn().held_for_output(), std::memory_order_relaxed);
    }

    template <class F>
    void guarded(F&& f) {
        try {
            f();
        } catch (...) {
            detail::report_error("callback threw: " + porthole::detail::what_was_thrown());
            session_.close(close_code::internal_error);
        }
    }
    template <class F>
    static void quietly(F&& f) noexcept {
        try {
            f();
        } catch (...) {
            detail::report_error("a close callback threw");
        }
    }

    std::shared_ptr<State const> route_;
    session session_;
    bool close_heard_ = false;
};

// Answers one request on a WebSocket route: the opening handshake (websocket_handshake.hpp), and
// on success the 101 with the upgrade left for the connection. A template so that a program
// without a WebSocket route instantiates no upgrade<> (its vtable would pull every virtual in).
template <class State>
response accept(std::shared_ptr<State const> const& route, request const& req) {
    auto* ex = porthole::detail::exchange_of(req);
    if (!ex)
        return response::static_text("WebSocket needs a connection\n", "text/plain; charset=utf-8",
                                     status::internal_server_error);
    auto h = accept_handshake(req, route->options.handshake);
    if (!h.accepted()) return std::move(h.response);
    auto res = std::move(h.response);
    std::shared_ptr<connection_link> link;
    if (ex->box) link = (ex->ensure_link(), ex->link);
    auto up = std::make_unique<upgrade<State>>(route, req, std::move(h), std::move(link));
    up->open(req);
    ex->upgrade = std::move(up);
    return res;
}

}  // namespace porthole::ws

namespace porthole {

// A WebSocket route: GET requests to `Pattern` that ask to upgrade get 101 and a WebSocket
// connection with these handlers; others get the handshake's error (426 for a request that does
// not ask to upgrade, 400, 403 for another origin: websocket_handshake.hpp). Path parameters
// reach the callbacks through request::param in on_open and session::param afterwards.
template <route_pattern Pattern>
auto websocket(ws::handlers handlers, ws::options opts = {}) {
    auto state =
        std::make_shared<ws::detail::route_state const>(ws::detail::route_state{std::move(handlers), std::move(opts)});
    return route<Pattern, GET>([state = std::move(state)](request const& req) { return ws::accept(state, req); });
}

}  // namespace porthole
