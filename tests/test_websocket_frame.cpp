#include <porthole/websocket_frame.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace porthole;
using porthole::detail::utf8_validator;
using porthole::detail::valid_utf8;

namespace {

// A plain decoder, written from RFC 3629 section 3 without tables: the reference.
bool reference_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t len;
        std::uint32_t cp;
        if (c < 0x80) {
            len = 1;
            cp = c;
        } else if ((c >> 5) == 6) {
            len = 2;
            cp = c & 31;
        } else if ((c >> 4) == 14) {
            len = 3;
            cp = c & 15;
        } else if ((c >> 3) == 30) {
            len = 4;
            cp = c & 7;
        } else return false;
        if (i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k) {
            auto b = static_cast<unsigned char>(s[i + k]);
            if ((b >> 6) != 2) return false;
            cp = cp << 6 | (b & 63);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

// Index of the byte at which a byte-by-byte feed first fails, or -1.
int first_failure(std::string_view s) {
    utf8_validator v;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (!v.feed(s.substr(i, 1))) return static_cast<int>(i);
    return -1;
}

}  // namespace

TEST_CASE("utf8: agrees with a plain decoder on every string of one to three bytes") {
    std::string s(3, '\0');
    std::size_t disagreements = 0;
    for (int a = 0; a < 256; ++a) {
        s.assign(1, static_cast<char>(a));
        disagreements += valid_utf8(s) != reference_utf8(s);
        for (int b = 0; b < 256; ++b) {
            s.assign({static_cast<char>(a), static_cast<char>(b)});
            disagreements += valid_utf8(s) != reference_utf8(s);
            if (a < 0xc0) continue;  // an ASCII or continuation first byte adds nothing new
            for (int c = 0; c < 256; ++c) {
                s.assign({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
                disagreements += valid_utf8(s) != reference_utf8(s);
            }
        }
    }
    CHECK(disagreements == 0);
}

TEST_CASE("utf8: four-byte sequences, at their edges") {
    for (int a : {0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7})
        for (int b = 0x70; b < 0xd0; ++b)
            for (int c : {0x7f, 0x80, 0xbf, 0xc0})
                for (int d : {0x7f, 0x80, 0xbf, 0xc0}) {
                    std::string s{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                                  static_cast<char>(d)};
                    CAPTURE(a);
                    CAPTURE(b);
                    CHECK(valid_utf8(s) == reference_utf8(s));
                }
    CHECK(valid_utf8("\xf0\x90\x80\x80"));        // U+10000
    CHECK(valid_utf8("\xf4\x8f\xbf\xbf"));        // U+10FFFF
    CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // U+110000
}

TEST_CASE("utf8: fails on the first byte that cannot continue a valid text") {
    CHECK(first_failure("\xc0\x80") == 0);  // overlong lead
    CHECK(first_failure("\xc1\xbf") == 0);
    CHECK(first_failure("\xf5\x80\x80\x80") == 0);  // beyond U+10FFFF by its lead
    CHECK(first_failure("\xff") == 0);
    CHECK(first_failure("\x80") == 0);                                           // a continuation with nothing before
    CHECK(first_failure("ab\xe0\x80\x80") == 3);                                 // E0 80: overlong
    CHECK(first_failure("\xed\xa0\x80") == 1);                                   // a surrogate, U+D800
    CHECK(first_failure("\xf0\x8f\xbf\xbf") == 1);                               // overlong four bytes
    CHECK(first_failure("\xf4\x90\x80\x80") == 1);                               // U+110000
    CHECK(first_failure("\xe2\x82\x28") == 2);                                   // a character cut by ASCII
    CHECK(first_failure("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5") == -1);  // κόσμε
    CHECK(first_failure("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
                        "edited") == 12);
    utf8_validator v;
    CHECK_FALSE(v.feed("\x80"));
    CHECK_FALSE(v.feed("a"));  // failed stays failed
    CHECK(v.failed());
}

TEST_CASE("utf8: a text cut anywhere, even inside a character, gives the verdict of the whole") {
    std::vector<std::string> texts = {
        "plain ascii that is longer than eight bytes",
        "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e!",  // a é € 𝄞 !
        "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80 mixed \xe2\x82\xac",
        "ends inside a character \xe2\x82",
        "bad in the middle \xe2\x28\xa1 rest",
        "surrogate \xed\xb0\x80",
        std::string(17, 'x') + "\xc3",
    };
    for (auto const& t : texts) {
        CAPTURE(t);
        utf8_validator whole;
        bool whole_ok = whole.feed(t);
        for (std::size_t cut = 0; cut <= t.size(); ++cut) {
            utf8_validator v;
            bool ok = v.feed(std::string_view(t).substr(0, cut));
            ok = v.feed(std::string_view(t).substr(cut)) && ok;
            CHECK(ok == whole_ok);
            CHECK(v.complete() == whole.complete());
        }
        utf8_validator bytes;
        bool ok = true;
        for (char c : t) ok = bytes.feed(std::string_view(&c, 1)) && ok;
        CHECK(ok == whole_ok);
        CHECK(bytes.complete() == whole.complete());
        CHECK((whole_ok && whole.complete()) == reference_utf8(t));
    }
}

TEST_CASE("frame headers: shortest length forms, flags and masking keys (RFC 6455 5.2)") {
    auto bytes = [](ws::frame_header const& h) {
        std::vector<unsigned> v;
        for (char c : h.view()) v.push_back(static_cast<unsigned char>(c));
        return v;
    };
    CHECK(bytes(ws::make_frame_header(ws::opcode::text, 0)) == std::vector<unsigned>{0x81, 0x00});
    CHECK(bytes(ws::make_frame_header(ws::opcode::binary, 125)) == std::vector<unsigned>{0x82, 125});
    CHECK(bytes(ws::make_frame_header(ws::opcode::text, 126)) == std::vector<unsigned>{0x81, 126, 0x00, 126});
    CHECK(bytes(ws::make_frame_header(ws::opcode::text, 65535)) == std::vector<unsigned>{0x81, 126, 0xff, 0xff});
    CHECK(bytes(ws::make_frame_header(ws::opcode::text, 65536)) ==
          std::vector<unsigned>{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0});
    CHECK(bytes(ws::make_frame_header(ws::opcode::binary, 0x0102030405ull)) ==
          std::vector<unsigned>{0x82, 127, 0, 0, 0, 1, 2, 3, 4, 5});
    ws::frame_flags f;
    f.fin = false;
    f.rsv1 = true;
    f.masked = true;
    f.key = {1, 2, 3, 4};
    CHECK(bytes(ws::make_frame_header(ws::opcode::continuation, 5, f)) ==
          std::vector<unsigned>{0x40, 0x85, 1, 2, 3, 4});
    for (std::uint64_t n : {0ull, 125ull, 126ull, 65535ull, 65536ull, 1ull << 40}) {
        CHECK(ws::make_frame_header(ws::opcode::binary, n).size == ws::frame_header_size(n));
        CHECK(ws::make_frame_header(ws::opcode::binary, n, f).size == ws::frame_header_size(n, true));
    }
    // The example of RFC 6455 5.7: a masked "Hello".
    ws::frame_flags m;
    m.masked = true;
    m.key = {0x37, 0xfa, 0x21, 0x3d};
    CHECK(ws::encode_frame(ws::opcode::text, "Hello", m) == "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
    CHECK(ws::encode_frame(ws::opcode::text, "Hello") == "\x81\x05Hello");
    CHECK(ws::encode_frame(ws::opcode::ping, "Hello") == "\x89\x05Hello");
}

TEST_CASE("masking: eight bytes at a time gives what one byte at a time gives, at every offset") {
    std::string data;
    for (int i = 0; i < 70; ++i) data += static_cast<char>(i * 37 + 11);
    ws::masking_key key{0xa1, 0x07, 0x5c, 0xee};
    for (std::size_t offset = 0; offset < 4; ++offset)
        for (std::size_t n = 0; n <= data.size(); ++n) {
            std::string out(n, '\0');
            ws::detail::apply_mask(out.data(), data.data(), n, key, offset);
            std::string expected(n, '\0');
            for (std::size_t i = 0; i < n; ++i)
                expected[i] = static_cast<char>(data[i] ^ static_cast<char>(key[(offset + i) % 4]));
            CHECK(out == expected);
            std::string in_place = data.substr(0, n);
            ws::detail::apply_mask(in_place.data(), in_place.data(), n, key, offset);
            CHECK(in_place == expected);
        }
}

TEST_CASE("close codes that may appear in a Close frame (RFC 6455 7.4)") {
    for (unsigned c : {1000u, 1001u, 1002u, 1003u, 1007u, 1008u, 1009u, 1010u, 1011u, 1012u, 1013u, 1014u, 3000u, 3999u,
                       4000u, 4999u})
        CHECK(ws::valid_close_code(static_cast<std::uint16_t>(c)));
    for (unsigned c : {0u, 999u, 1004u, 1005u, 1006u, 1015u, 1016u, 1100u, 2000u, 2999u, 5000u, 65535u})
        CHECK_FALSE(ws::valid_close_code(static_cast<std::uint16_t>(c)));
    CHECK(ws::close_payload(ws::close_code::going_away, "bye") == std::string("\x03\xe9"
                                                                              "bye"));
}

TEST_CASE("shared frames: encoded once, the same bytes for every holder") {
    auto f = ws::shared_frame::text("hello all");
    CHECK(f.bytes() == "\x81\x09hello all");
    auto copy = f;
    CHECK(copy.bytes().data() == f.bytes().data());
    CHECK(f.use_count() == 2);
    CHECK(ws::shared_frame::binary(std::string(300, 'b')).bytes().substr(0, 4) == "\x82\x7e\x01\x2c");
    CHECK_THROWS_AS(ws::shared_frame::text("\xc3"), std::invalid_argument);
    CHECK_FALSE(ws::shared_frame{});
}

TEST_CASE("opcodes: control frames and the reserved ones") {
    CHECK(ws::is_control(ws::opcode::close));
    CHECK(ws::is_control(ws::opcode::ping));
    CHECK_FALSE(ws::is_control(ws::opcode::text));
    for (std::uint8_t op = 0; op < 16; ++op) CHECK(ws::is_known_opcode(op) == (op <= 2 || (op >= 8 && op <= 10)));
}
