// porthole/base64.hpp: base64 and base64url (RFC 4648 sections 4 and 5), as HTTP uses them:
// Basic credentials (RFC 7617), tokens, the WebSocket handshake (RFC 6455).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace porthole::base64 {

enum class alphabet : std::uint8_t {
    standard,  // RFC 4648 4: A-Z a-z 0-9 + /, padded with '='
    url,       // RFC 4648 5: A-Z a-z 0-9 - _, unpadded (as tokens in URLs and cookies go)
};

namespace detail {
inline constexpr std::string_view standard_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
inline constexpr std::string_view url_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Character -> 6-bit value, 0xff for characters outside the alphabet.
constexpr std::array<std::uint8_t, 256> make_values(std::string_view chars) {
    std::array<std::uint8_t, 256> t{};
    for (auto& v : t) v = 0xff;
    for (std::size_t i = 0; i < chars.size(); ++i)
        t[static_cast<unsigned char>(chars[i])] = static_cast<std::uint8_t>(i);
    return t;
}
inline constexpr auto standard_values = make_values(standard_chars);
inline constexpr auto url_values = make_values(url_chars);
}  // namespace detail

// The encoded length of n bytes.
constexpr std::size_t encoded_size(std::size_t n, alphabet a = alphabet::standard) noexcept {
    return a == alphabet::standard ? (n + 2) / 3 * 4 : n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

// Appends the encoding of `bytes` to `out`.
inline void encode_to(std::string_view bytes, std::string& out, alphabet a = alphabet::standard) {
    auto chars = a == alphabet::standard ? detail::standard_chars : detail::url_chars;
    out.reserve(out.size() + encoded_size(bytes.size(), a));
    auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])); };
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        out += chars[v >> 18];
        out += chars[(v >> 12) & 63];
        out += chars[(v >> 6) & 63];
        out += chars[v & 63];
    }
    std::size_t left = bytes.size() - i;
    if (left == 0) return;
    std::uint32_t v = byte(i) << 16 | (left == 2 ? byte(i + 1) << 8 : 0);
    out += chars[v >> 18];
    out += chars[(v >> 12) & 63];
    if (left == 2) out += chars[(v >> 6) & 63];
    if (a == alphabet::standard) out.append(left == 2 ? 1 : 2, '=');
}
inline std::string encode(std::string_view bytes, alphabet a = alphabet::standard) {
    std::string out;
    encode_to(bytes, out, a);
    return out;
}

// Appends the decoding of `text` to `out`; false (out unchanged) when it is not canonical
// base64 in the alphabet: a character outside it, a wrong length, misplaced padding, or
// nonzero bits left over in the last character (RFC 4648 3.5), so that each byte string has
// exactly one encoding. The standard alphabet needs its padding; the url one takes it or not.
inline bool decode(std::string_view text, std::string& out, alphabet a = alphabet::standard) {
    auto const& values = a == alphabet::standard ? detail::standard_values : detail::url_values;
    std::size_t pad = 0;
    while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
    if (a == alphabet::standard && text.size() % 4 != 0) return false;
    if (pad && text.size() % 4 != 0) return false;
    auto body = text.substr(0, text.size() - pad);
    if (body.size() % 4 == 1) return false;
    auto const start = out.size();
    out.reserve(start + body.size() / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : body) {
        auto v = values[static_cast<unsigned char>(c)];
        if (v == 0xff) {
            out.resize(start);
            return false;
        }
        acc = acc << 6 | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0 || (pad && body.size() % 4 != 4 - pad)) {
        out.resize(start);
        return false;
    }
    return true;
}
inline std::optional<std::string> decode(std::string_view text, alphabet a = alphabet::standard) {
    std::string out;
    if (!decode(text, out, a)) return std::nullopt;
    return out;
}

}  // namespace porthole::base64
