// porthole/event_hub.hpp: one stream of server-sent events (sse.hpp) broadcast to every client
// subscribed to it, with a bounded history for clients that reconnect.
//
//   porthole::event_hub hub;                                     // its heartbeat thread starts
//   auto app = porthole::router(porthole::get<"/events">([&](porthole::request const& req) {
//       return hub.subscribe(req);                               // honours Last-Event-ID
//   }));
//   hub.publish("status", R"({"done":3})");                      // any thread; never blocks
//
// How it holds up (the interface is small on purpose: publish, subscribe, subscribers, close):
// - publish() encodes the event once, appends it to the history and wakes the subscribers
//   that were waiting, through their loops' wake-ups. It takes the hub's own locks only, never
//   one a loop holds while it writes to a socket, and never waits for a client.
// - Ids are decimal numbers, consecutive, starting after the microseconds since the Unix epoch
//   at the hub's construction: they increase, and a client reconnecting with an id from an
//   earlier run of the program is seen as too old rather than mistaken for a recent one (while
//   that run published less than one event a microsecond on average, and the clock did not
//   step back).
// - Each subscriber's queue is its place in the history: what it has not yet been sent. The
//   history keeps the last `history` events and at most `history_bytes` bytes of them (always
//   the newest event), shared by all subscribers, so a subscriber costs no memory for what it
//   has still to receive. A subscriber whose next event has left the history (it fell behind:
//   its client reads slower than events come) skips to the newest and gets a `resync` event
//   (data `behind`) carrying the newest id: it should fetch the whole state afresh. It is not
//   disconnected: reconnecting would replay what it could not keep up with over the same slow
//   link, where one small event lets it catch up at once. A client that stops reading
//   altogether is closed by the server's write timeout.
// - A client that reconnects with Last-Event-ID gets what it missed from the history, or a
//   `resync` event (data `too-old`) when its id is no longer there, is not a number, or comes
//   from an earlier run.
// - Heartbeats: every `heartbeat` (15 s), a subscriber that was sent nothing since the last one
//   gets a comment line, from a thread the hub owns, so proxies and idle timeouts do not cut
//   quiet streams. The server's keep-alive, header and body timeouts never apply to a stream.
// - The server stopping ends every stream cleanly (after what is queued); so does close(),
//   after which subscribe() answers 204, which tells EventSource not to reconnect.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/compiled_once.hpp>
#include <porthole/detail/decimal.hpp>
#include <porthole/metrics.hpp>
#include <porthole/request.hpp>
#include <porthole/response.hpp>
#include <porthole/sse.hpp>
#include <porthole/stream.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace porthole {

struct event_hub_options {
    std::size_t history = 256;                         // events kept for reconnecting or slow clients (at least 1)
    std::size_t history_bytes = 1024 * 1024;           // and at most this many bytes of them, newest event always kept
    std::chrono::milliseconds heartbeat{15000};        // comment to quiet streams this often; 0: none
    std::optional<std::chrono::milliseconds> retry{};  // sent first to each subscriber: reconnection time
};

namespace detail {

struct hub_state;

// One subscribed client. The cursor and `pending` are its connection's thread's; the flags
// are shared with publishing threads.
struct hub_subscriber {
    std::shared_ptr<hub_state> hub;
    std::weak_ptr<stream_channel> channel;
    std::uint64_t cursor = 0;  // the last id sent whole
    std::string pending;       // sent before the history: retry, a resync
    // An event larger than a piece goes out in slices: the one after `cursor`, held here (the
    // history may let it go before its last slice), and how much of it was sent.
    std::shared_ptr<std::string const> partial;
    std::size_t partial_sent = 0;
    static constexpr std::size_t piece_limit = 4096;
    std::atomic<bool> idle{false};  // its producer said nothing yet: a publish resumes it
    std::atomic<bool> heartbeat_due{false};
    std::atomic<bool> sent_since_beat{false};
    bool counted = metrics::enabled();  // in metrics' live subscribers (metrics.hpp)
    explicit hub_subscriber(std::shared_ptr<hub_state> h) noexcept : hub(std::move(h)) {
        if (counted) metrics::subscriber_added();
    }
    ~hub_subscriber();
    // The connection's thread: the next piece of what the subscriber has not been sent yet.
    stream_step next();
    // Appends `event` (the one after `cursor`) from byte `from` on to `out`, as much as the piece
    // has room for; true when the event's end went out (`cursor` moves past it), false when its
    // rest waits in `partial`.
    bool take(std::string& out, std::shared_ptr<std::string const> const& event, std::size_t from);
};

struct hub_state {
    event_hub_options options;

    std::mutex history_mutex;                                // publishers, and subscribers' producers copying events
    std::deque<std::shared_ptr<std::string const>> history;  // encoded events, ids first_id...last_id
    std::uint64_t first_id = 0, last_id = 0;
    std::size_t bytes = 0;
    bool closed = false;

    std::mutex subscribers_mutex;  // taken after history_mutex when both are
    std::vector<std::weak_ptr<hub_subscriber>> subscribers;
    std::size_t prune_at = 16;  // subscribers.size() at which add() drops the ones gone
    std::atomic<std::size_t> count{0};

    std::mutex beat_mutex;
    std::condition_variable beat_wake;
    bool beat_stop = false;

    static std::string resync(std::uint64_t id, std::string_view why) {
        char digits[24];
        auto r = std::to_chars(digits, digits + sizeof digits, id);
        return sse::encode({.type = "resync", .data = why, .id = std::string_view(digits, r.ptr)});
    }

    // `wake(subscriber)` for every live subscriber, dropping the ones that are gone.
    template <class Wake>
    void each_subscriber(Wake&& wake) {
        std::lock_guard lock(subscribers_mutex);
        for (std::size_t i = 0; i < subscribers.size();) {
            if (auto s = subscribers[i].lock()) {
                wake(*s);
                ++i;
            } else {
                subscribers[i] = std::move(subscribers.back());
                subscribers.pop_back();
            }
        }
    }
    // A subscriber gone leaves its entry (and, through the weak_ptr, its memory) until a
    // publish, a heartbeat or here: with no heartbeat and few events, clients that come and go
    // would grow the list without bound. Dropped here when it has doubled: amortized O(1).
    void add(std::weak_ptr<hub_subscriber> s) {
        std::lock_guard lock(subscribers_mutex);
        if (subscribers.size() >= prune_at) {
            std::erase_if(subscribers, [](auto const& w) { return w.expired(); });
            prune_at = std::max<std::size_t>(16, 2 * subscribers.size());
        }
        subscribers.push_back(std::move(s));
    }
    static void resume(hub_subscriber& s) {
        if (auto c = s.channel.lock()) c->resume();
    }
};

inline hub_subscriber::~hub_subscriber() {
    hub->count.fetch_sub(1, std::memory_order_acq_rel);
    if (counted) metrics::subscriber_removed();
}

}  // namespace detail

class event_hub {
public:
    explicit event_hub(event_hub_options options = {});
    event_hub(event_hub const&) = delete;
    event_hub& operator=(event_hub const&) = delete;
    // Closes the hub (close()); streams still open end after what they were sent.
    ~event_hub() {
        close();
        if (beats_.joinable()) {
            {
                std::lock_guard lock(state_->beat_mutex);
                state_->beat_stop = true;
            }
            state_->beat_wake.notify_all();
            beats_.join();
        }
    }

    // Any thread: sends an event of type `type` (empty: "message") with `data` to every
    // subscriber and keeps it in the history. Returns its id, or 0 once the hub is closed.
    // Throws std::invalid_argument for a type holding CR, LF or NUL.
    std::uint64_t publish(std::string_view type, std::string_view data);
    std::uint64_t publish(std::string_view data) { return publish({}, data); }

    // The handler's thread: a text/event-stream response subscribed to every event published
    // from now on, after what the client missed since `last_event_id` (the request's
    // Last-Event-ID, when it reconnects). 204 No Content once the hub is closed.
    response subscribe(request const& req) { return subscribe(req.header("Last-Event-ID").value_or("")); }
    response subscribe(std::string_view last_event_id);

    // Any thread: how many streams are subscribed (a stream counts until its connection lets
    // go of it: the client left, the stream ended, or the response was dropped unsent).
    std::size_t subscribers() const noexcept { return state_->count.load(std::memory_order_acquire); }
    // Any thread: the id of the newest event (before any: the id the first will follow).
    std::uint64_t last_id() const {
        std::lock_guard lock(state_->history_mutex);
        return state_->last_id;
    }

    // Any thread: a comment to every subscriber that was sent nothing since the last heartbeat;
    // the hub's thread calls it every options.heartbeat.
    void heartbeat() { beat(*state_); }

    // Any thread: publishes nothing more; every stream ends once it has been sent what was
    // published before, and subscribe() answers 204 from now on.
    void close();

private:
    static void beat(detail::hub_state& s) {
        s.each_subscriber([](detail::hub_subscriber& sub) {
            if (sub.sent_since_beat.exchange(false)) return;
            sub.heartbeat_due.store(true);
            if (sub.idle.exchange(false)) detail::hub_state::resume(sub);
        });
    }

    std::shared_ptr<detail::hub_state> state_;
    std::thread beats_;
};

}  // namespace porthole

// The bodies: in every file, or once (detail/compiled_once.hpp).
#if PORTHOLE_DETAIL_DEFINE_HERE
namespace porthole {

PORTHOLE_DETAIL_INLINE bool detail::hub_subscriber::take(std::string& out,
                                                         std::shared_ptr<std::string const> const& event,
                                                         std::size_t from) {
    std::size_t room = out.size() < piece_limit ? piece_limit - out.size() : 0;
    std::size_t rest = event->size() - from;
    if (rest <= room) {
        out.append(*event, from, rest);
        partial.reset();  // may be what `event` refers to, not used after this
        partial_sent = 0;
        ++cursor;
        return true;
    }
    out.append(*event, from, room);
    if (partial != event) partial = event;
    partial_sent = from + room;
    return false;
}

PORTHOLE_DETAIL_INLINE stream_step detail::hub_subscriber::next() {
    std::string out = std::move(pending);
    pending.clear();
    bool closed = false;
    // At most about piece_limit bytes at a time (a resync may follow the last slice of an
    // event), a larger event in slices: what a client has still to read waits in the shared
    // history, not in a copy for each connection.
    bool room_left = true;
    if (partial) {  // the rest of an event begun in an earlier piece, whatever the history let go since
        room_left = take(out, partial, partial_sent);
    }
    if (room_left) {
        std::lock_guard lock(hub->history_mutex);
        if (cursor < hub->last_id) {
            if (cursor + 1 < hub->first_id) {
                out += hub_state::resync(hub->last_id, "behind");
                cursor = hub->last_id;
            } else {
                for (auto i = static_cast<std::size_t>(cursor + 1 - hub->first_id); i < hub->history.size(); ++i) {
                    auto const& event = hub->history[i];
                    // An event that fits a piece waits for the next one rather than be cut.
                    if (!out.empty() && out.size() + event->size() > piece_limit && event->size() <= piece_limit) break;
                    if (!take(out, event, 0)) break;
                }
            }
        }
        closed = hub->closed;
        if (out.empty() && !closed) idle.store(true);  // under the lock: a publish after it sees it
    }
    if (out.empty() && heartbeat_due.exchange(false)) {
        idle.store(false);
        sse::append_comment(out);
    }
    if (!out.empty()) {
        heartbeat_due.store(false, std::memory_order_relaxed);
        sent_since_beat.store(true, std::memory_order_relaxed);
        return stream_step::data(std::move(out));
    }
    return closed ? stream_step::end() : stream_step::nothing_yet();
}

PORTHOLE_DETAIL_INLINE event_hub::event_hub(event_hub_options options) : state_(std::make_shared<detail::hub_state>()) {
    if (options.history == 0) options.history = 1;
    state_->options = options;
    auto now = std::chrono::system_clock::now().time_since_epoch();
    state_->last_id = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
    state_->first_id = state_->last_id + 1;
    if (options.heartbeat.count() > 0)
        beats_ = std::thread([s = state_.get()] {
            std::unique_lock lock(s->beat_mutex);
            while (!s->beat_wake.wait_for(lock, s->options.heartbeat, [s] { return s->beat_stop; })) {
                lock.unlock();
                beat(*s);
                lock.lock();
            }
        });
}

PORTHOLE_DETAIL_INLINE std::uint64_t event_hub::publish(std::string_view type, std::string_view data) {
    if (!sse::valid_field(type)) throw std::invalid_argument("porthole: an event type may not hold CR, LF or NUL");
    auto& s = *state_;
    std::uint64_t id;
    {
        std::lock_guard lock(s.history_mutex);
        if (s.closed) return 0;
        id = s.last_id + 1;
        char digits[24];
        auto r = std::to_chars(digits, digits + sizeof digits, id);
        s.history.push_back(std::make_shared<std::string const>(
            sse::encode({.type = type, .data = data, .id = std::string_view(digits, r.ptr)})));
        s.bytes += s.history.back()->size();
        s.last_id = id;
        while (s.history.size() > 1 && (s.history.size() > s.options.history || s.bytes > s.options.history_bytes)) {
            s.bytes -= s.history.front()->size();
            s.history.pop_front();
            ++s.first_id;
        }
    }
    s.each_subscriber([](detail::hub_subscriber& sub) {
        if (sub.idle.exchange(false)) detail::hub_state::resume(sub);
    });
    return id;
}

PORTHOLE_DETAIL_INLINE response event_hub::subscribe(std::string_view last_event_id) {
    auto& s = *state_;
    auto sub = std::make_shared<detail::hub_subscriber>(state_);
    s.count.fetch_add(1, std::memory_order_acq_rel);
    if (s.options.retry) sse::append_retry(sub->pending, *s.options.retry);
    {
        std::lock_guard lock(s.history_mutex);
        if (s.closed) return response(status::no_content);
        sub->cursor = s.last_id;
        if (!last_event_id.empty()) {
            std::uint64_t seen = 0;
            if (detail::parse_decimal(last_event_id, seen) && seen + 1 >= s.first_id && seen <= s.last_id)
                sub->cursor = seen;  // the producer sends what came after it
            else sub->pending += detail::hub_state::resync(s.last_id, "too-old");
        }
    }
    auto live = resumable_stream([sub] { return sub->next(); }, "text/event-stream");
    sub->channel = std::get<stream_body>(live.response.body()).live;
    s.add(sub);
    return std::move(sse::mark_event_stream(live.response));
}

PORTHOLE_DETAIL_INLINE void event_hub::close() {
    {
        std::lock_guard lock(state_->history_mutex);
        if (state_->closed) return;
        state_->closed = true;
    }
    state_->each_subscriber([](detail::hub_subscriber& sub) {
        sub.idle.store(false);
        detail::hub_state::resume(sub);
    });
}

}  // namespace porthole
#endif
