// porthole/detail/utf8.hpp: UTF-8 validation (RFC 3629 section 4) that can be fed a text in
// pieces, cut anywhere, and fails on the first byte that cannot continue a valid text: overlong
// forms, surrogates (U+D800..U+DFFF), code points above U+10FFFF, stray continuation bytes, and
// C0, C1, F5..FF. WebSocket text messages and close reasons are checked with it (RFC 6455 8.1);
// writers whose readers want UTF-8 replace what is not with U+FFFD.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace porthole::detail {

namespace utf8 {
// Byte classes: what a byte may be, as far as the next state is concerned.
enum byte_class_t : std::uint8_t {
    ascii,
    cont_80_8f,
    cont_90_9f,
    cont_a0_bf,
    bad,
    lead2,
    lead3_e0,
    lead3,
    lead3_ed,
    lead4_f0,
    lead4,
    lead4_f4
};
inline constexpr std::size_t class_count = 12;
// States: how much of a character is missing, and which second bytes are allowed.
enum state_t : std::uint8_t { accept, need1, need2, need3, after_e0, after_ed, after_f0, after_f4, reject };
inline constexpr std::size_t state_count = 9;

constexpr std::array<std::uint8_t, 256> make_classes() {
    std::array<std::uint8_t, 256> t{};
    for (int b = 0; b < 256; ++b) {
        byte_class_t c = bad;  // C0, C1 (overlong two-byte forms) and F5..FF among them
        if (b < 0x80) c = ascii;
        else if (b < 0x90) c = cont_80_8f;
        else if (b < 0xa0) c = cont_90_9f;
        else if (b < 0xc0) c = cont_a0_bf;
        else if (b < 0xc2) c = bad;
        else if (b < 0xe0) c = lead2;
        else if (b == 0xe0) c = lead3_e0;
        else if (b == 0xed) c = lead3_ed;
        else if (b < 0xf0) c = lead3;
        else if (b == 0xf0) c = lead4_f0;
        else if (b < 0xf4) c = lead4;
        else if (b == 0xf4) c = lead4_f4;
        t[static_cast<std::size_t>(b)] = c;
    }
    return t;
}
constexpr std::array<std::uint8_t, state_count * class_count> make_transitions() {
    std::array<std::uint8_t, state_count * class_count> t{};
    for (auto& v : t) v = reject;
    auto set = [&t](state_t from, byte_class_t cls, state_t to) { t[from * class_count + cls] = to; };
    set(accept, ascii, accept);
    set(accept, lead2, need1);
    set(accept, lead3_e0, after_e0);  // E0 A0..BF: below would be overlong
    set(accept, lead3, need2);
    set(accept, lead3_ed, after_ed);  // ED 80..9F: above would be a surrogate
    set(accept, lead4_f0, after_f0);  // F0 90..BF: below would be overlong
    set(accept, lead4, need3);
    set(accept, lead4_f4, after_f4);  // F4 80..8F: above would pass U+10FFFF
    for (byte_class_t c : {cont_80_8f, cont_90_9f, cont_a0_bf}) {
        set(need1, c, accept);
        set(need2, c, need1);
        set(need3, c, need2);
    }
    set(after_e0, cont_a0_bf, need1);
    set(after_ed, cont_80_8f, need1);
    set(after_ed, cont_90_9f, need1);
    set(after_f0, cont_90_9f, need2);
    set(after_f0, cont_a0_bf, need2);
    set(after_f4, cont_80_8f, need2);
    return t;
}
inline constexpr std::array<std::uint8_t, 256> byte_classes = make_classes();
inline constexpr std::array<std::uint8_t, state_count* class_count> transitions = make_transitions();

// What takes the place of bytes that are no character: U+FFFD REPLACEMENT CHARACTER.
inline constexpr std::string_view replacement = "\xef\xbf\xbd";

// The length in bytes of the character that begins at text[i], or 0 when the bytes there begin
// none; `invalid` then gets how many to replace with one U+FFFD: the maximal subpart (a lead
// byte and the continuation bytes that could still have completed it, at least one), as the
// WHATWG Encoding Standard's UTF-8 decoder reads them. Writers whose readers refuse invalid UTF-8
// (RFC 8259 section 8.1, Prometheus' text format) repair their text with it.
inline std::size_t character_length(std::string_view text, std::size_t i, std::size_t& invalid) noexcept {
    std::uint8_t s = accept;
    for (std::size_t j = i; j < text.size(); ++j) {
        s = transitions[s * class_count + byte_classes[static_cast<unsigned char>(text[j])]];
        if (s == accept) return j + 1 - i;
        if (s == reject) {
            invalid = j > i ? j - i : 1;
            return 0;
        }
    }
    invalid = text.size() - i;  // a character cut short by the end of the text
    return 0;
}

// What append_well_formed does with a valid character by default: copies it.
struct copy_character {
    void operator()(std::string& out, std::string_view character) const { out.append(character); }
};

// Appends `text` to `out` as well-formed UTF-8: each ASCII byte through `ascii(out, c)` and each
// valid character of two to four bytes through `character(out, bytes)` (which escape what their
// format needs), each maximal ill-formed subpart as one U+FFFD.
template <class Ascii, class Character = copy_character>
void append_well_formed(std::string& out, std::string_view text, Ascii ascii, Character character = {}) {
    for (std::size_t i = 0; i < text.size();) {
        if (static_cast<unsigned char>(text[i]) < 0x80) {
            ascii(out, text[i++]);
            continue;
        }
        std::size_t invalid = 1;
        if (std::size_t length = character_length(text, i, invalid)) {
            character(out, text.substr(i, length));
            i += length;
        } else {
            out.append(replacement);
            i += invalid;
        }
    }
}
}  // namespace utf8

class utf8_validator {
public:
    // Checks the next bytes. Returns false at the first invalid byte, and from then on.
    bool feed(std::string_view bytes) noexcept {
        auto const* p = reinterpret_cast<unsigned char const*>(bytes.data());
        auto const* end = p + bytes.size();
        std::uint8_t s = state_;
        while (p != end) {
            if (s == utf8::accept) {  // between characters: skip ASCII 32 bytes, then 8, at a time
                while (end - p >= 32) {
                    std::uint64_t w[4];
                    std::memcpy(w, p, 32);
                    if ((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ull) break;
                    p += 32;
                }
                while (end - p >= 8) {
                    std::uint64_t word;
                    std::memcpy(&word, p, 8);
                    if (word & 0x8080808080808080ull) break;
                    p += 8;
                }
                while (p != end && *p < 0x80) ++p;
                if (p == end) break;
            }
            s = utf8::transitions[s * utf8::class_count + utf8::byte_classes[*p++]];
            if (s == utf8::reject) break;
        }
        state_ = s;
        return s != utf8::reject;
    }
    // True when no character is left unfinished: the text so far is valid and complete.
    bool complete() const noexcept { return state_ == utf8::accept; }
    bool failed() const noexcept { return state_ == utf8::reject; }
    void reset() noexcept { state_ = utf8::accept; }

private:
    std::uint8_t state_ = utf8::accept;
};

// True when `text` is valid, complete UTF-8.
inline bool valid_utf8(std::string_view text) noexcept {
    utf8_validator v;
    return v.feed(text) && v.complete();
}

}  // namespace porthole::detail
