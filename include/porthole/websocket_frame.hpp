// porthole/websocket_frame.hpp: the WebSocket wire format (RFC 6455 section 5): opcodes, close
// codes (7.4), frame headers read and written, masking, and frames encoded once for many
// recipients. Nothing here holds a connection's state; ws::connection (websocket_connection.hpp)
// applies the protocol's rules on top.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/utf8.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace porthole::ws {

// ---------------------------------------------------------------- opcodes (RFC 6455 5.2, 11.8)

enum class opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xa,
};

// Control frames have the high bit of the opcode set (5.5).
constexpr bool is_control(opcode op) noexcept { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }
// The opcodes RFC 6455 defines; the others are reserved and fail the connection (5.2).
constexpr bool is_known_opcode(std::uint8_t op) noexcept { return op <= 0x2 || (op >= 0x8 && op <= 0xa); }

// ---------------------------------------------------------------- close codes (7.4, 11.7)

enum class close_code : std::uint16_t {
    normal_closure = 1000,
    going_away = 1001,  // the server stops, or a browser leaves the page
    protocol_error = 1002,
    unsupported_data = 1003,      // a data type the endpoint cannot take
    no_status_received = 1005,    // never sent: the peer's Close frame had no code
    abnormal_closure = 1006,      // never sent: the connection ended without a Close frame
    invalid_payload_data = 1007,  // e.g. a text message that is not UTF-8
    policy_violation = 1008,
    message_too_big = 1009,
    mandatory_extension = 1010,
    internal_error = 1011,
    service_restart = 1012,  // 1012-1014: IANA registry, after the RFC
    try_again_later = 1013,
    bad_gateway = 1014,
    tls_handshake = 1015,  // never sent
};

constexpr std::uint16_t to_int(close_code c) noexcept { return static_cast<std::uint16_t>(c); }

// May `code` appear in a Close frame (7.4)? The codes of the registry that an endpoint sends
// (1000-1003, 1007-1014), and 3000-4999 for libraries and applications. 1005, 1006 and 1015 are
// only reported locally; everything else below 3000 is reserved.
constexpr bool valid_close_code(std::uint16_t code) noexcept {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

// Control frame payloads are at most 125 bytes (5.5); a close reason at most 123 after its code.
inline constexpr std::size_t max_control_payload = 125;
inline constexpr std::size_t max_close_reason = max_control_payload - 2;
// The longest frame header: 2 bytes, 8 of extended length, 4 of masking key (5.2).
inline constexpr std::size_t max_frame_header = 14;

// ---------------------------------------------------------------- frame headers (5.2)

using masking_key = std::array<std::uint8_t, 4>;

struct frame_flags {
    bool fin = true;      // the last frame of its message
    bool rsv1 = false;    // permessage-deflate: the message is compressed (RFC 7692 6)
    bool masked = false;  // client-to-server frames are masked (5.3)
    masking_key key{};
};

// The bytes of one frame header, kept inline.
struct frame_header {
    std::array<char, max_frame_header> bytes{};
    std::uint8_t size = 0;
    std::string_view view() const noexcept { return {bytes.data(), size}; }
};

// Header size for a payload of `length` bytes: lengths up to 125 fit the second byte, up to
// 65535 take 2 more bytes, longer ones 8 (5.2: always the shortest form).
constexpr std::size_t frame_header_size(std::uint64_t length, bool masked = false) noexcept {
    return 2 + (length < 126 ? 0 : length < 65536 ? 2 : 8) + (masked ? 4 : 0);
}

constexpr frame_header make_frame_header(opcode op, std::uint64_t length, frame_flags const& f = {}) noexcept {
    frame_header h;
    auto* b = h.bytes.data();
    b[0] = static_cast<char>((f.fin ? 0x80 : 0) | (f.rsv1 ? 0x40 : 0) | static_cast<std::uint8_t>(op));
    char mask_bit = f.masked ? char(0x80) : char(0);
    std::size_t n = 2;
    if (length < 126) {
        b[1] = static_cast<char>(mask_bit | static_cast<char>(length));
    } else if (length < 65536) {
        b[1] = static_cast<char>(mask_bit | 126);
        b[2] = static_cast<char>(length >> 8);
        b[3] = static_cast<char>(length & 0xff);
        n = 4;
    } else {
        b[1] = static_cast<char>(mask_bit | 127);
        for (int i = 0; i < 8; ++i) b[2 + i] = static_cast<char>(length >> (56 - 8 * i));
        n = 10;
    }
    if (f.masked)
        for (std::size_t i = 0; i < 4; ++i) b[n++] = static_cast<char>(f.key[i]);
    h.size = static_cast<std::uint8_t>(n);
    return h;
}

namespace detail {
// XORs n bytes from `from` into `to` with the masking key, starting `offset` bytes into the key's
// cycle (5.3); `to` may equal `from`. Eight bytes at a time: this is on every received byte.
inline void apply_mask(char* to, char const* from, std::size_t n, masking_key const& key, std::size_t offset) noexcept {
    std::array<std::uint8_t, 8> pattern;
    for (std::size_t i = 0; i < 8; ++i) pattern[i] = key[(offset + i) & 3];
    std::uint64_t wide;
    std::memcpy(&wide, pattern.data(), 8);
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {  // four words per step: compilers turn this into vector code
        std::uint64_t v[4];
        std::memcpy(v, from + i, 32);
        for (auto& w : v) w ^= wide;
        std::memcpy(to + i, v, 32);
    }
    for (; i + 8 <= n; i += 8) {
        std::uint64_t v;
        std::memcpy(&v, from + i, 8);
        v ^= wide;
        std::memcpy(to + i, &v, 8);
    }
    for (; i < n; ++i) to[i] = static_cast<char>(from[i] ^ static_cast<char>(pattern[i & 7]));
}
}  // namespace detail

// Appends one whole frame (header, then the payload, masked when the flags say so) to `out`.
inline void encode_frame_to(std::string& out, opcode op, std::string_view payload, frame_flags const& f = {}) {
    auto h = make_frame_header(op, payload.size(), f);
    std::size_t at = out.size();
    out.resize(at + h.size + payload.size());
    std::memcpy(out.data() + at, h.bytes.data(), h.size);
    if (f.masked) detail::apply_mask(out.data() + at + h.size, payload.data(), payload.size(), f.key, 0);
    else if (!payload.empty()) std::memcpy(out.data() + at + h.size, payload.data(), payload.size());
}
inline std::string encode_frame(opcode op, std::string_view payload, frame_flags const& f = {}) {
    std::string out;
    encode_frame_to(out, op, payload, f);
    return out;
}

// A Close frame's payload: the code in network order, then the reason (5.5.1), as given: keeping it
// UTF-8 and within 123 bytes (5.5, 5.5.1) is the caller's, as for any frame built here; the
// connections' close() checks both and refuses otherwise.
inline std::string close_payload(close_code code, std::string_view reason = {}) {
    std::string p;
    p += static_cast<char>(to_int(code) >> 8);
    p += static_cast<char>(to_int(code) & 0xff);
    p += reason;
    return p;
}

// ---------------------------------------------------------------- frames shared by many recipients

// One complete, unmasked server frame, encoded once and sent to any number of connections: a
// broadcast to ten thousand clients holds its bytes once, and each connection's queue holds a
// reference. Immutable, so any thread may hold and send it.
class shared_frame {
public:
    shared_frame() = default;

    // A text message; throws std::invalid_argument when `utf8` is not valid UTF-8 (every
    // recipient would have to fail the connection, RFC 6455 8.1).
    static shared_frame text(std::string_view utf8) {
        if (!porthole::detail::valid_utf8(utf8)) throw std::invalid_argument("ws::shared_frame::text: not valid UTF-8");
        return shared_frame(opcode::text, utf8);
    }
    static shared_frame binary(std::string_view bytes) { return shared_frame(opcode::binary, bytes); }

    std::string_view bytes() const noexcept { return frame_ ? std::string_view(*frame_) : std::string_view{}; }
    explicit operator bool() const noexcept { return frame_ != nullptr; }
    // How many holders share the bytes now (queues that still have to send it, and this one).
    long use_count() const noexcept { return frame_.use_count(); }

private:
    shared_frame(opcode op, std::string_view payload)
        : frame_(std::make_shared<std::string const>(encode_frame(op, payload))) {}

    std::shared_ptr<std::string const> frame_;
};

}  // namespace porthole::ws
