// Random bytes from the operating system and the tokens made of them (random.hpp).
#include <porthole/base64.hpp>
#include <porthole/random.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <set>
#include <string>
#include <vector>

using namespace porthole;

TEST_CASE("random tokens are base64url, as long as asked, and never repeat") {
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        auto t = random_token();
        CHECK(t.size() == 43);
        CHECK(base64::decode(t, base64::alphabet::url).value_or("").size() == 32);
        seen.insert(t);
    }
    CHECK(seen.size() == 200);
    CHECK(random_token(100).size() == base64::encoded_size(100, base64::alphabet::url));
}

TEST_CASE("a token uses only the URL-safe alphabet, without padding, at every length") {
    // Lengths around the 64-byte pieces the token is drawn in, and around base64's groups of 3.
    for (std::size_t bytes : {0u, 1u, 2u, 3u, 4u, 63u, 64u, 65u, 127u, 128u, 129u, 1000u}) {
        CAPTURE(bytes);
        auto t = random_token(bytes);
        CHECK(t.size() == (bytes * 4 + 2) / 3);  // ceil(8 * bytes / 6) characters, no '='
        for (char c : t) {
            bool url_safe =
                (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
            if (!url_safe) FAIL_CHECK("character " << int(c) << " in " << t);
        }
        auto raw = base64::decode(t, base64::alphabet::url);
        REQUIRE(raw);
        CHECK(raw->size() == bytes);
    }
}

TEST_CASE("random_bytes fills the whole span, large ones too, and nothing beyond it") {
    // A guard byte either side: a fill that overruns or stops short shows.
    std::vector<unsigned char> buf(70000 + 2, 0xa5);
    random_bytes(std::span<unsigned char>(buf.data() + 1, buf.size() - 2));
    CHECK(buf.front() == 0xa5);
    CHECK(buf.back() == 0xa5);
    // Every byte value turns up in 70000 random bytes (each is missing with probability ~e^-273).
    std::array<bool, 256> value_seen{};
    for (std::size_t i = 1; i + 1 < buf.size(); ++i) value_seen[buf[i]] = true;
    std::size_t distinct = 0;
    for (bool b : value_seen) distinct += b;
    CHECK(distinct == 256);
    // The last bytes are filled too: 64 of them all still 0xa5 would be one chance in 2^512.
    std::size_t untouched_tail = 0;
    for (std::size_t i = buf.size() - 65; i + 1 < buf.size(); ++i) untouched_tail += buf[i] == 0xa5;
    CHECK(untouched_tail < 64);

    unsigned char none = 0x5a;
    random_bytes(std::span<unsigned char>(&none, 0));  // an empty span is no error and writes nothing
    CHECK(none == 0x5a);
}

TEST_CASE("two fills of the same buffer differ") {
    std::array<unsigned char, 32> a{}, b{};
    random_bytes(a);
    random_bytes(b);
    CHECK(a != b);
}
