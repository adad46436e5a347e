// porthole/upgrade.hpp: a protocol that takes a connection over after 101 Switching Protocols
// (RFC 9110 7.8). A handler that accepts an upgrade leaves one in the request's exchange and
// returns the 101; the connection writes the 101, then hands every byte in and out to it. The
// connection's driver does not change: it goes on calling the connection, which forwards.
//
// WebSocket (websocket.hpp) is the one protocol built on it. A program that upgrades nothing
// pays a pointer that stays null.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace porthole {

namespace detail {

class upgraded_protocol {
public:
    enum class state : std::uint8_t {
        open,     // bytes flow both ways; the protocol's keep-alive timer applies (timeout() on it)
        closing,  // this end asked to close and waits for the peer: the close timer applies
        closed,   // close the transport once has_output() is false
    };

    virtual ~upgraded_protocol() = default;

    // The 101 is queued (not yet written); `draining`: the server already stops. A protocol
    // that other threads reach takes the connection's link (exchange::ensure_link) while the
    // handler runs.
    virtual void start(bool draining) = 0;

    // The same contracts as the connection's own (connection.hpp).
    virtual std::span<char> read_buffer() = 0;
    virtual void commit(std::size_t n) = 0;
    virtual void feed(std::span<char> bytes) = 0;
    virtual void read_eof() noexcept = 0;
    virtual std::span<std::string_view const> pending_output() = 0;
    virtual void written(std::size_t n) = 0;
    virtual bool has_output() const noexcept = 0;
    virtual bool wants_read() const noexcept = 0;
    virtual state phase() const noexcept = 0;
    virtual void timeout() = 0;
    // Before timeout(), from a driver that can tell: the bytes written that the peer has not
    // taken yet (connection::transport_backlog).
    virtual void transport_backlog(std::size_t) noexcept {}
    virtual void drain() noexcept = 0;  // the server stops
    virtual void shrink() = 0;
    virtual void on_notify() = 0;  // another thread left word through the link
    // The connection goes away (closed by the driver, the server gone): the last word.
    virtual void end() noexcept = 0;
};

}  // namespace detail
}  // namespace porthole
