#include <porthole/base64.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace porthole;

TEST_CASE("base64: the test vectors of RFC 4648 section 10") {
    std::pair<char const*, char const*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (auto const& vector : vectors) {
        std::string_view plain = vector.first, encoded = vector.second;
        CAPTURE(plain);
        CHECK(base64::encode(plain) == encoded);
        CHECK(base64::encoded_size(std::string_view(plain).size()) == std::string_view(encoded).size());
        auto back = base64::decode(encoded);
        REQUIRE(back.has_value());
        CHECK(*back == plain);
    }
}

TEST_CASE("base64: every byte value and every length round-trip") {
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (std::size_t n = 0; n <= all.size(); ++n) {
        auto part = std::string_view(all).substr(all.size() - n);
        auto text = base64::encode(part);
        CHECK(text.size() == base64::encoded_size(n));
        auto back = base64::decode(text);
        REQUIRE(back.has_value());
        CHECK(*back == part);
    }
    CHECK(base64::encode("\xfb\xff") == "+/8=");
}

TEST_CASE("base64: decoding is strict and leaves the output as it was on failure") {
    for (char const* bad : {"Zg", "Zg=", "Zm9", "Z===", "====", "Zg==Zg==", "Zm 9v", "Zm9v\n", "Zm9-", "Zm9_",
                            "Z=g=", "Zh==", "Zm9=", "Zm8=Zm8=", "*m9v"}) {
        CAPTURE(bad);
        std::string out = "kept";
        CHECK_FALSE(base64::decode(bad, out));
        CHECK(out == "kept");
        CHECK_FALSE(base64::decode(bad).has_value());
    }
    // Padding bits must be zero (RFC 4648 3.5): "Zh==" and "Zm9=" name the same bytes as
    // "Zg==" and "Zm8=" but are not their canonical forms.
    std::string out = "x";
    CHECK(base64::decode("Zm8=", out));
    CHECK(out == "xfo");
}
