// porthole/stream.hpp: live streamed bodies, fed from any thread.
//
// A response::stream() producer is called on the connection's thread and must always have the
// next piece at hand. A live stream's producer may also say "nothing yet": the connection then
// stops asking, writes nothing, applies no timeout, and asks again once some thread calls
// resume(). On top of that, a push stream: any thread writes into a bounded buffer that the
// connection sends from; a full buffer refuses the write at once (the writing thread never
// blocks, memory never grows past the bound) and the writer decides what to drop.
//
//   auto [res, writer] = porthole::push_stream("text/event-stream");
//   subscribers.add(writer);       // another thread: writer.write("data: hi\n\n")
//   return std::move(res);
//
// A live stream ends when its producer says so (writer.close()), when the client leaves (the
// writer reports closed()), or when the server stops: then what is buffered goes out, the body
// ends cleanly, and the connection closes. A push stream whose last writer is gone without
// close() is cut short after what was written (logged). It is over too once no response carries it (sent
// too late through a responder, HEAD, 204, 205, 304, replaced or dropped unsent). The read and keep-alive timeouts do
// not apply while it waits; the write timeout applies whenever bytes are waiting for a client that does not read.
// Memory per push stream: at most twice its buffer limit (the buffer, and one piece in flight).
#pragma once

#include <porthole/detail/cxx20.hpp>
#include <porthole/detail/error_log.hpp>

#include <porthole/mailbox.hpp>
#include <porthole/metrics.hpp>
#include <porthole/response.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace porthole {

// What a live stream's producer returns each time it is called.
struct stream_step {
    enum class kind_t : std::uint8_t { data, nothing_yet, end };
    kind_t kind = kind_t::end;
    std::string bytes;

    static stream_step data(std::string bytes) { return {kind_t::data, std::move(bytes)}; }
    static stream_step nothing_yet() noexcept { return {kind_t::nothing_yet, {}}; }
    static stream_step end() noexcept { return {kind_t::end, {}}; }
};

using live_producer = std::function<stream_step()>;

namespace detail {

// A live stream's state, shared by the connection (its thread) and the threads that resume it.
struct stream_channel {
    live_producer producer;             // the connection's thread only
    std::atomic<bool> over{false};      // the connection sends no more of it
    std::atomic<bool> stopping{false};  // the server stops: end once the producer has nothing
    bool counted = false;               // in metrics' live streams (the connection's thread)

    // Any thread: ask the connection to call the producer again. False once the stream is over.
    bool resume() {
        std::lock_guard lock(mutex_);
        if (over.load(std::memory_order_acquire)) return false;
        resume_wanted_ = true;
        if (link_) link_->notify();
        return true;
    }

    // The connection's thread.
    void attach(std::shared_ptr<connection_link> link) {
        std::lock_guard lock(mutex_);
        link_ = std::move(link);
    }
    bool take_resume() {
        std::lock_guard lock(mutex_);
        return std::exchange(resume_wanted_, false);
    }
    void finish() {
        if (counted) {
            counted = false;
            metrics::stream_closed();
        }
        end();
    }
    // Any thread: the stream is over, whoever held it (the connection counts what it started).
    void end() {
        over.store(true, std::memory_order_release);
        std::lock_guard lock(mutex_);
        link_.reset();
    }

private:
    std::mutex mutex_;
    std::shared_ptr<connection_link> link_;
    bool resume_wanted_ = false;
};

// A push stream's buffer, between the writing threads and the producer on the connection's.
struct push_buffer {
    std::mutex mutex;
    std::string bytes;
    std::size_t limit = 0;
    bool closing = false;
    bool abandoned = false;  // the last writer went without close()
};

// The writers' hold on a push stream (each stream_writer's buffer pointer aliases it). When the
// last writer is gone without close(), nothing can end the body cleanly: what was written goes
// out, then the body is cut short (the client sees the connection end) and the error log says
// so, as for a responder dropped without an answer; before, the connection waited forever.
struct push_writers {
    std::shared_ptr<push_buffer> buffer;
    std::shared_ptr<stream_channel> channel;
    push_writers(std::shared_ptr<push_buffer> b, std::shared_ptr<stream_channel> c) noexcept
        : buffer(std::move(b)), channel(std::move(c)) {}
    push_writers(push_writers const&) = delete;
    push_writers& operator=(push_writers const&) = delete;
    ~push_writers() {
        {
            std::lock_guard lock(buffer->mutex);
            if (buffer->closing) return;
            // After the server began stopping a writer is expected to go (closed() says so): a clean end.
            if (channel->stopping.load(std::memory_order_acquire)) buffer->closing = true;
            else buffer->abandoned = true;
        }
        try {
            channel->resume();
        } catch (...) {  // a lock that failed: the stream then waits, as before; never throw here
        }
    }
};

// The next piece of a stream body, for a connection: the producer is asked again after an
// empty piece (in a loop: a producer may return any number of them), a live one that has
// nothing yet pauses unless it was resumed meanwhile (or ends, when the server stops), and
// anything thrown ends the body as failed.
struct pulled {
    enum kind_t : std::uint8_t { data, paused, end, failed } kind = end;
    std::string bytes;
};
template <class Log>
pulled pull_piece(body_producer* producer, stream_channel* live, Log&& log) {
    pulled out;
    for (;;) {
        bool end = false, wait = false;
        try {
            if (live) {
                auto step = live->producer();
                end = step.kind == stream_step::kind_t::end;
                wait = step.kind == stream_step::kind_t::nothing_yet;
                out.bytes = std::move(step.bytes);
            } else if (auto p = (*producer)()) {
                out.bytes = std::move(*p);
            } else {
                end = true;
            }
        } catch (...) {
            log("body producer threw: " + what_was_thrown());
            out.bytes.clear();
            out.kind = pulled::failed;
            return out;
        }
        if (wait) {
            if (live->stopping.load(std::memory_order_acquire)) end = true;  // what was queued has gone
            else if (!live->take_resume()) {
                out.kind = pulled::paused;
                return out;
            }
        }
        if (end) {
            out.bytes.clear();
            out.kind = pulled::end;
            return out;
        }
        if (!out.bytes.empty()) {
            out.kind = pulled::data;
            return out;
        }
    }
}

}  // namespace detail

// Wakes a live stream whose producer said nothing_yet. Copyable; any thread.
class stream_resumer {
public:
    stream_resumer() = default;
    explicit stream_resumer(std::shared_ptr<detail::stream_channel> c) noexcept : channel_(std::move(c)) {}

    // The producer is called again soon, on the connection's thread. False once the stream is
    // over (ended, the client left, the connection closed, no response carries it).
    bool resume() const { return channel_ && channel_->resume(); }
    // Whether the stream still goes to a client. False once it is over (as for resume()) or the
    // server stops.
    bool active() const noexcept {
        return channel_ && !channel_->over.load(std::memory_order_acquire) &&
               !channel_->stopping.load(std::memory_order_acquire);
    }

private:
    std::shared_ptr<detail::stream_channel> channel_;
};

// A response whose body `producer` makes piece by piece, on the connection's thread, and which
// may have nothing yet (then it is called again after resumer.resume()).
struct live_stream {
    porthole::response response;
    stream_resumer resumer;
};

namespace detail {
// The responses' hold on a live stream. When the last response that carries it is gone (its
// body sent or cut off, or never sent: a responder whose request is gone or timed out, HEAD, 204,
// 205 or 304, a response a layer replaced), the stream is over: its writers and resumers learn that
// nothing will read it, however the response was dropped.
struct stream_ownership {
    std::shared_ptr<stream_channel> channel;
    explicit stream_ownership(std::shared_ptr<stream_channel> c) noexcept : channel(std::move(c)) {}
    stream_ownership(stream_ownership const&) = delete;
    stream_ownership& operator=(stream_ownership const&) = delete;
    ~stream_ownership() { channel->end(); }
};
struct live_response {
    porthole::response response;
    std::shared_ptr<stream_channel> channel;  // the writers' and resumers' hold: not ownership
};
inline live_response make_live_response(live_producer producer, std::string_view content_type, status s) {
    auto channel = std::make_shared<stream_channel>();
    channel->producer = std::move(producer);
    auto owner = std::make_shared<stream_ownership>(channel);
    live_response out{response::stream(body_producer{}, content_type, s), std::move(channel)};
    // The response's pointer is the channel, its lifetime the ownership's (an aliasing pointer).
    std::get<stream_body>(out.response.body()).live = std::shared_ptr<stream_channel>(owner, out.channel.get());
    return out;
}
}  // namespace detail

inline live_stream resumable_stream(live_producer producer, std::string_view content_type = "application/octet-stream",
                                    status s = status::ok) {
    auto live = detail::make_live_response(std::move(producer), content_type, s);
    return {std::move(live.response), stream_resumer(std::move(live.channel))};
}

struct push_stream_parts;

// The sending end of a push stream. Copyable (copies write to the same stream), usable const;
// any thread. The last copy gone without close() cuts the body short after what was written.
class stream_writer {
public:
    enum class result : std::uint8_t {
        written,    // queued whole
        full,       // nothing taken: the buffer would exceed its limit (the client reads slowly)
        closed,     // nothing taken: the stream is over (closed, the client left, the server stops)
        too_large,  // nothing taken: more than the whole limit, which no wait makes room for
    };

    stream_writer() = default;

    // Queues `bytes` whole or not at all; never blocks on the client.
    result write(std::string_view bytes) const {
        if (!buffer_ || closed()) return result::closed;
        bool was_empty;
        {
            std::lock_guard lock(buffer_->mutex);
            if (buffer_->closing) return result::closed;
            if (bytes.size() > buffer_->limit) return result::too_large;
            if (bytes.size() > buffer_->limit - buffer_->bytes.size()) return result::full;
            was_empty = buffer_->bytes.empty();
            buffer_->bytes.append(bytes);
        }
        if (was_empty) channel_->resume();
        return result::written;
    }

    // Ends the body once what is queued has gone out. False if it was already over.
    bool close() const {
        if (!buffer_) return false;
        {
            std::lock_guard lock(buffer_->mutex);
            if (buffer_->closing) return false;
            buffer_->closing = true;
        }
        return channel_->resume();
    }

    // True once writes can no longer reach the client: closed, the client left, the server stops,
    // or no response carries the stream any more (sent through a responder too late, HEAD, 204,
    // 205, 304, replaced or dropped unsent).
    bool closed() const noexcept {
        return !channel_ || channel_->over.load(std::memory_order_acquire) ||
               channel_->stopping.load(std::memory_order_acquire);
    }
    // Bytes queued and not yet taken by the connection, and the most that may be.
    std::size_t buffered() const {
        if (!buffer_) return 0;
        std::lock_guard lock(buffer_->mutex);
        return buffer_->bytes.size();
    }
    std::size_t limit() const noexcept { return buffer_ ? buffer_->limit : 0; }

private:
    friend push_stream_parts push_stream(std::string_view, std::size_t, status);
    std::shared_ptr<detail::push_buffer> buffer_;
    std::shared_ptr<detail::stream_channel> channel_;
};

struct push_stream_parts {
    porthole::response response;
    stream_writer writer;
};

// A response whose body is what any thread writes through `writer`, buffered up to
// `buffer_limit` bytes (64 KiB by default) between the writers and the client.
inline push_stream_parts push_stream(std::string_view content_type = "application/octet-stream",
                                     std::size_t buffer_limit = 64 * 1024, status s = status::ok) {
    auto buffer = std::make_shared<detail::push_buffer>();
    buffer->limit = buffer_limit;
    auto live = detail::make_live_response(
        [buffer]() -> stream_step {
            std::lock_guard lock(buffer->mutex);
            if (!buffer->bytes.empty()) return stream_step::data(std::exchange(buffer->bytes, std::string()));
            if (buffer->abandoned)
                throw std::runtime_error("a push stream's last writer went without close(): the body is cut short");
            return buffer->closing ? stream_step::end() : stream_step::nothing_yet();
        },
        content_type, s);
    auto writers = std::make_shared<detail::push_writers>(buffer, live.channel);
    push_stream_parts out{std::move(live.response), stream_writer()};
    out.writer.buffer_ = std::shared_ptr<detail::push_buffer>(writers, buffer.get());
    out.writer.channel_ = std::move(live.channel);
    return out;
}

}  // namespace porthole
