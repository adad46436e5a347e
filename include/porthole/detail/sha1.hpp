// porthole/detail/sha1.hpp: SHA-1 (FIPS 180-4, RFC 3174), for one purpose only: the
// Sec-WebSocket-Accept value of the WebSocket opening handshake (RFC 6455 4.2.2), where it is
// a fixed transformation and not a security measure. Never use it to protect anything.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace porthole::detail {

class sha1 {
public:
    using digest = std::array<std::uint8_t, 20>;

    sha1& update(std::string_view bytes) noexcept {
        auto const* p = reinterpret_cast<unsigned char const*>(bytes.data());
        std::size_t n = bytes.size();
        length_ += n;
        while (n > 0) {
            std::size_t take = std::min(n, block_.size() - used_);
            std::memcpy(block_.data() + used_, p, take);
            used_ += take;
            p += take;
            n -= take;
            if (used_ == block_.size()) {
                compress();
                used_ = 0;
            }
        }
        return *this;
    }

    // The digest of everything given to update(); the object is spent afterwards.
    digest finish() noexcept {
        std::uint64_t bits = length_ * 8;
        block_[used_++] = 0x80;
        if (used_ > 56) {
            std::memset(block_.data() + used_, 0, block_.size() - used_);
            compress();
            used_ = 0;
        }
        std::memset(block_.data() + used_, 0, 56 - used_);
        for (int i = 0; i < 8; ++i) block_[56 + i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
        compress();
        digest out{};
        for (std::size_t i = 0; i < 5; ++i)
            for (std::size_t j = 0; j < 4; ++j) out[4 * i + j] = static_cast<std::uint8_t>(h_[i] >> (24 - 8 * j));
        return out;
    }

    static digest of(std::string_view bytes) noexcept { return sha1().update(bytes).finish(); }

private:
    static constexpr std::uint32_t rotl(std::uint32_t x, int n) noexcept { return x << n | x >> (32 - n); }

    void compress() noexcept {
        std::uint32_t w[80];
        for (std::size_t i = 0; i < 16; ++i)
            w[i] = std::uint32_t{block_[4 * i]} << 24 | std::uint32_t{block_[4 * i + 1]} << 16 |
                   std::uint32_t{block_[4 * i + 2]} << 8 | std::uint32_t{block_[4 * i + 3]};
        for (std::size_t i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
        for (std::size_t i = 0; i < 80; ++i) {
            std::uint32_t f, k;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5a827999;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ed9eba1;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8f1bbcdc;
            } else {
                f = b ^ c ^ d;
                k = 0xca62c1d6;
            }
            std::uint32_t t = rotl(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = rotl(b, 30);
            b = a;
            a = t;
        }
        h_[0] += a;
        h_[1] += b;
        h_[2] += c;
        h_[3] += d;
        h_[4] += e;
    }

    std::array<std::uint32_t, 5> h_{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    std::array<std::uint8_t, 64> block_{};
    std::size_t used_ = 0;
    std::uint64_t length_ = 0;
};

}  // namespace porthole::detail
