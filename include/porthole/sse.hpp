// porthole/sse.hpp: server-sent events, the text/event-stream format of the WHATWG HTML
// standard (section 9.2, "Server-sent events"): one encoder for every writer, and an event
// stream to one client on top of a push stream (stream.hpp). Many clients fed the same events
// share an event_hub (event_hub.hpp) instead.
//
//   auto app = [](porthole::request const&) {
//       auto [res, events] = porthole::sse::open_stream();
//       std::thread([events]() mutable {
//           events.send({.type = "progress", .data = "50%"});   // event: progress / data: 50%
//       }).detach();
//       return std::move(res);
//   };
//
// Encoding rules (9.2.5/9.2.6): `data` is split into one `data:` line per line, at CR LF, CR
// or LF, so the client reassembles what was sent, with LF between its lines (a CR or CR LF
// comes back as LF: the format has no way to tell them apart); an empty `data` still dispatches an
// event (with empty data). An event type or id holding CR, LF or NUL cannot be written on one
// field line (and a client ignores an id holding NUL): encoding refuses it with
// std::invalid_argument. Comments are `:` lines, which clients ignore: heartbeats.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/response.hpp>
#include <porthole/stream.hpp>

#include <charconv>
#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace porthole::sse {

// One event. Empty `type` is the default type, "message" (EventSource's onmessage).
// `id` set (even empty: that resets the client's last event ID) becomes the `id:` field the
// client sends back as Last-Event-ID when it reconnects. `retry` sets the client's
// reconnection time.
struct event {
    std::string_view type{};
    std::string_view data{};
    std::optional<std::string_view> id{};
    std::optional<std::chrono::milliseconds> retry{};
};

// Whether `value` can be an event type or an id: no CR, LF or NUL.
constexpr bool valid_field(std::string_view value) noexcept {
    for (char c : value)
        if (c == '\r' || c == '\n' || c == '\0') return false;
    return true;
}

namespace detail {
// `prefix` and one line of `text` for each line in it, split at CR LF, CR or LF.
inline void append_lines(std::string& out, std::string_view prefix, std::string_view text) {
    for (;;) {
        auto end = text.find_first_of("\r\n");
        out.append(prefix);
        out.append(text.substr(0, end));
        out.push_back('\n');
        if (end == std::string_view::npos) return;
        end += text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n' ? 2 : 1;
        text.remove_prefix(end);
    }
}
}  // namespace detail

// Appends `e`, ended by its blank line, to `out`. Throws std::invalid_argument for a type or id
// that is not valid_field(), or a negative retry; `out` is then unchanged.
inline void append(std::string& out, event const& e) {
    if (!valid_field(e.type)) throw std::invalid_argument("porthole: an event type may not hold CR, LF or NUL");
    if (e.id && !valid_field(*e.id)) throw std::invalid_argument("porthole: an event id may not hold CR, LF or NUL");
    if (e.retry && e.retry->count() < 0) throw std::invalid_argument("porthole: an event's retry may not be negative");
    if (e.id) {
        out.append(e.id->empty() ? "id" : "id: ");
        out.append(*e.id);
        out.push_back('\n');
    }
    if (!e.type.empty()) {
        out.append("event: ");
        out.append(e.type);
        out.push_back('\n');
    }
    if (e.retry) {
        char digits[24];
        auto r = std::to_chars(digits, digits + sizeof digits, e.retry->count());
        out.append("retry: ");
        out.append(digits, r.ptr);
        out.push_back('\n');
    }
    detail::append_lines(out, "data: ", e.data);
    out.push_back('\n');
}

inline std::string encode(event const& e) {
    std::string out;
    append(out, e);
    return out;
}

// Appends a comment (one `:` line per line of `text`) and a blank line. Clients ignore it;
// it keeps proxies and idle timeouts from cutting a quiet stream.
inline void append_comment(std::string& out, std::string_view text = {}) {
    detail::append_lines(out, text.empty() ? ":" : ": ", text);
    out.push_back('\n');
}

// Appends a `retry:` line alone (and a blank line, which dispatches nothing): the client's
// reconnection time. Throws std::invalid_argument when negative.
inline void append_retry(std::string& out, std::chrono::milliseconds retry) {
    if (retry.count() < 0) throw std::invalid_argument("porthole: an event's retry may not be negative");
    char digits[24];
    auto r = std::to_chars(digits, digits + sizeof digits, retry.count());
    out.append("retry: ");
    out.append(digits, r.ptr);
    out.append("\n\n");
}

// The header fields of an event stream's response, beyond its Content-Type: no cache may keep
// it (RFC 9111 5.2.2.5), and nginx passes it on unbuffered.
inline response& mark_event_stream(response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    return res;
}

// The sending end of one client's event stream. Copyable, usable const; any thread; never blocks.
class sender {
public:
    using result = stream_writer::result;

    sender() = default;
    explicit sender(stream_writer w) noexcept : writer_(std::move(w)) {}

    // Queues `e` whole or not at all (full: the client reads slower than events come; the
    // caller decides what to drop; too_large: the event, encoded, is larger than the stream's
    // whole buffer limit and never fits). Throws std::invalid_argument as append() does.
    result send(event const& e) const { return writer_.write(encode(e)); }
    // A comment line: a heartbeat when `text` is empty.
    result comment(std::string_view text = {}) const {
        std::string out;
        append_comment(out, text);
        return writer_.write(out);
    }
    // Ends the stream once what is queued has gone. The client's EventSource reconnects unless
    // told otherwise by the application (a 204 on its next request, say).
    bool close() const { return writer_.close(); }
    bool closed() const noexcept { return writer_.closed(); }
    stream_writer& writer() noexcept { return writer_; }

private:
    stream_writer writer_;
};

struct stream_parts {
    porthole::response response;
    sse::sender sender;
};

// A text/event-stream response to one client and the sender that feeds it, with at most
// `buffer_limit` bytes waiting between them (push_stream()).
inline stream_parts open_stream(std::size_t buffer_limit = 64 * 1024) {
    auto [res, writer] = push_stream("text/event-stream", buffer_limit);
    mark_event_stream(res);
    return {std::move(res), sender(std::move(writer))};
}

}  // namespace porthole::sse
