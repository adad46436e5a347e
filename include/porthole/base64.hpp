// porthole/base64.hpp: the base64 encoding of RFC 4648 section 4 (the standard alphabet, with
// padding), as the WebSocket handshake (RFC 6455 4.2) and HTTP Basic authentication (RFC 7617)
// use it.
//
// Decoding is strict, as a server parsing untrusted header fields should be: the length must be a
// multiple of four, '=' may only end the text, no whitespace or other characters, and the bits that
// padding leaves over must be zero (RFC 4648 3.5), so every byte string has exactly one encoding.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace porthole::base64 {

namespace detail {
inline constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline constexpr std::uint8_t invalid = 0xff;
constexpr std::array<std::uint8_t, 256> make_values() {
    std::array<std::uint8_t, 256> t{};
    for (auto& v : t) v = invalid;
    for (std::size_t i = 0; i < alphabet.size(); ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
    return t;
}
inline constexpr std::array<std::uint8_t, 256> values = make_values();
}  // namespace detail

// Characters needed to encode n bytes: 4 for every 3, the last group padded.
constexpr std::size_t encoded_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }

// Appends the encoding of `bytes` to `out`.
inline void encode_to(std::string_view bytes, std::string& out) {
    std::size_t at = out.size();
    out.resize(at + encoded_size(bytes.size()));
    char* p = out.data() + at;
    auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])); };
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        *p++ = detail::alphabet[v >> 18];
        *p++ = detail::alphabet[v >> 12 & 63];
        *p++ = detail::alphabet[v >> 6 & 63];
        *p++ = detail::alphabet[v & 63];
    }
    if (auto left = bytes.size() - i; left != 0) {
        std::uint32_t v = byte(i) << 16 | (left == 2 ? byte(i + 1) << 8 : 0);
        *p++ = detail::alphabet[v >> 18];
        *p++ = detail::alphabet[v >> 12 & 63];
        *p++ = left == 2 ? detail::alphabet[v >> 6 & 63] : '=';
        *p++ = '=';
    }
}

inline std::string encode(std::string_view bytes) {
    std::string out;
    encode_to(bytes, out);
    return out;
}

// Appends the bytes `text` encodes to `out` and returns true; returns false for anything but a
// canonical padded encoding, leaving `out` as it was.
inline bool decode(std::string_view text, std::string& out) {
    if (text.size() % 4 != 0) return false;
    std::size_t pad = 0;
    if (!text.empty() && text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
    std::size_t at = out.size();
    out.resize(at + text.size() / 4 * 3 - pad);
    char* p = out.data() + at;
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        std::uint32_t v = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            std::uint8_t d = detail::values[static_cast<unsigned char>(text[i + j])];
            if (d == detail::invalid) {
                if (!(last && j >= 4 - pad)) {  // only the padding may be outside the alphabet
                    out.resize(at);
                    return false;
                }
                d = 0;
            }
            v = v << 6 | d;
        }
        // The bits the padding leaves over must be zero (RFC 4648 3.5).
        if (last && ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0))) {
            out.resize(at);
            return false;
        }
        *p++ = static_cast<char>(v >> 16);
        if (!last || pad < 2) *p++ = static_cast<char>(v >> 8 & 0xff);
        if (!last || pad < 1) *p++ = static_cast<char>(v & 0xff);
    }
    return true;
}

// The bytes `text` encodes, or nullopt when it is not a canonical padded encoding.
inline std::optional<std::string> decode(std::string_view text) {
    std::string bytes;
    if (!decode(text, bytes)) return std::nullopt;
    return bytes;
}

}  // namespace porthole::base64
