// porthole/template.hpp: `@@name@@` HTML templates, parsed once and rendered in one pass.
//
//   constexpr auto page = porthole::make_template<"<h1>@@title@@</h1>@@!nav@@">();
//   porthole::html out = page.render(porthole::arg<"title">(title), porthole::arg<"nav">(nav));
//
// Markers are `@@name@@` with name [A-Za-z_][A-Za-z0-9_.]*; `@@!name@@` inserts its value raw.
// Any `@@` that does not form a marker is plain text. Values are HTML-escaped (& < > " ')
// unless they are `html` / `html_view` (rendered templates, trusted markup) or the marker is raw.
//
// Literal templates (make_template, "..."_tpl) are parsed at compile time; rendering one with
// a value for a marker it lacks, without a value for a marker it has, or with two values for one
// marker does not compile.
// Run-time templates (page_template, load_template; template_cache.hpp) are parsed once; a missing
// value, or a file that cannot be read, is not a regular file or is larger than its limit, throws
// porthole::template_error.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/compiled_once.hpp>
#include <porthole/detail/template_file.hpp>
#include <porthole/html.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(PORTHOLE_WITH_FMT)
#include <fmt/format.h>
#endif

namespace porthole {

class template_value;

// ---------------------------------------------------------------- writing values

namespace detail {
template <class T>
inline constexpr bool is_html = std::is_same_v<T, html> || std::is_same_v<T, html_view>;

// Numbers, as opposed to bool and the character types.
template <class T>
inline constexpr bool is_number =
    std::is_arithmetic_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char> && !std::is_same_v<T, wchar_t> &&
    !std::is_same_v<T, char8_t> && !std::is_same_v<T, char16_t> && !std::is_same_v<T, char32_t>;

// nullptr converts to string_view (until C++23) and would be read as a C string: it is refused.
template <class T>
concept string_like = std::is_convertible_v<T const&, std::string_view> && !is_html<T> && !std::is_null_pointer_v<T>;

#if defined(PORTHOLE_WITH_FMT)
template <class T>
concept fmt_formattable = fmt::is_formattable<T>::value;
#else
template <class T>
concept fmt_formattable = false;
#endif

template <class T>
concept writable =
    !std::is_null_pointer_v<T> && (is_html<T> || std::is_same_v<T, template_value> || std::is_same_v<T, bool> ||
                                   std::is_same_v<T, char> || is_number<T> || string_like<T> || fmt_formattable<T>);

template <class>
inline constexpr bool dependent_false = false;

// The one refusal of nullptr as a value, for both kinds of template (a null C string is empty
// text; nullptr itself is more likely a mistake than a wish for nothing).
template <class T>
constexpr void refuse_null_value() noexcept {
    static_assert(dependent_false<T>,
                  "porthole: nullptr cannot be a template value; pass \"\" (or a std::string_view) for empty text");
}

// Room for a number as text: any arithmetic type.
struct short_text {
    char data[46];
    std::uint8_t size;
    std::string_view view() const noexcept { return {data, size}; }
};

// std::to_chars: locale-free, and for floating point the shortest form that reads back as the
// same value.
template <class T>
short_text format_number(T value) noexcept {
    short_text text{};
    char const* end = std::to_chars(text.data, text.data + sizeof text.data, value).ptr;
    text.size = static_cast<std::uint8_t>(end - text.data);
    return text;
}

template <class T>
concept has_text = std::is_same_v<T, bool> || std::is_same_v<T, char> || string_like<T>;

template <class T>
std::string_view text_of(T const& value) noexcept {
    if constexpr (std::is_same_v<T, bool>) return value ? "true" : "false";
    else if constexpr (std::is_same_v<T, char>) return {&value, 1};
    else if constexpr (std::is_pointer_v<T>)
        return value ? std::string_view(value) : std::string_view();  // null: empty
    else return std::string_view(value);
}

// Literal pieces have sizes known at compile time, for which compilers inline the copy as a
// string instruction (rep movs) that is several times slower than the library's memcpy on
// some processors. Hiding the size from the optimizer keeps the memcpy call.
inline void append_literal(std::string& out, char const* text, std::size_t size) {
#if defined(__GNUC__)
    asm("" : "+r"(size));
#endif
    out.append(text, size);
}

template <bool Raw>
void append_text(std::string& out, std::string_view text) {
    if constexpr (Raw) out.append(text);
    else html_escape(text, out);
}

template <bool Raw, class T>
void write_value(std::string& out, T const& value);

template <bool Raw, class T>
std::size_t value_size(T const& value) noexcept;

// Whether p points into out's buffer, [data, data + capacity], which a reserve or a growing append
// frees or (short strings kept inside the object) overwrites. std::less: a total order.
inline bool points_into(std::string const& out, char const* p) noexcept {
    std::less<char const*> before;
    return !before(p, out.data()) && !before(out.data() + out.capacity(), p);
}

// Whether a value views bytes of out, so that rendering into out must not write there first.
// Values formatted by fmt are not looked into.
template <class T>
bool value_views(std::string const& out, T const& value) noexcept;
}  // namespace detail

// One value for a run-time template: text or html (viewed, not copied), a number, a bool, a
// char, or (with fmt) anything fmt can format (viewed too). What it views must outlive the render.
// A null C string is empty text; nullptr itself does not compile.
class template_value {
public:
    template_value() noexcept = default;  // empty text
    template <class T>
    requires std::is_null_pointer_v<T> template_value(T const&)
    noexcept {  // NOLINT: for its message
        detail::refuse_null_value<T>();
    }
    template <class T>
    requires(detail::writable<T> && !std::is_same_v<T, template_value>) template_value(T const& value)
    noexcept {  // NOLINT: implicit on purpose
        if constexpr (detail::is_html<T>) {
            kind_ = kind::markup;
            payload_.text = {value.view().data(), value.view().size()};
        } else if constexpr (std::is_same_v<T, char>) {
            kind_ = kind::inline_text;  // kept inside, so a value from a temporary stays valid
            payload_.inline_text = {{value}, 1};
        } else if constexpr (detail::is_number<T>) {
            kind_ = kind::inline_text;
            payload_.inline_text = detail::format_number(value);
        } else if constexpr (detail::has_text<T>) {
            const std::string_view text = detail::text_of(value);
            payload_.text = {text.data(), text.size()};
        } else {  // formatted by fmt when written
            kind_ = kind::other;
            payload_.other = {&value, &write_other<T>, &size_other<T>};
        }
    }

private:
    enum class kind : std::uint8_t { text, markup, inline_text, other };
    struct text_view {
        char const* data;
        std::size_t size;
    };
    struct other_value {
        void const* object;
        void (*write)(std::string&, void const*, bool raw);
        std::size_t (*size)(void const*, bool raw);
    };
    union payload {
        text_view text;
        detail::short_text inline_text;
        other_value other;
    };

    template <class T>
    static void write_other(std::string& out, void const* object, bool raw) {
        T const& value = *static_cast<T const*>(object);
        raw ? detail::write_value<true>(out, value) : detail::write_value<false>(out, value);
    }
    template <class T>
    static std::size_t size_other(void const* object, bool raw) {
        T const& value = *static_cast<T const*>(object);
        return raw ? detail::value_size<true>(value) : detail::value_size<false>(value);
    }

    std::string_view view() const noexcept {
        return kind_ == kind::inline_text ? payload_.inline_text.view()
                                          : std::string_view(payload_.text.data, payload_.text.size);
    }
    template <bool Raw>
    void write(std::string& out) const {
        if (kind_ == kind::other) payload_.other.write(out, payload_.other.object, Raw);
        else if (kind_ == kind::markup) out.append(view());
        else detail::append_text<Raw>(out, view());
    }
    template <bool Raw>
    std::size_t size() const noexcept {
        if (kind_ == kind::other) return payload_.other.size(payload_.other.object, Raw);
        return Raw || kind_ == kind::markup ? view().size() : detail::html_escaped_size(view());
    }
    template <bool Raw, class T>
    friend void detail::write_value(std::string& out, T const& value);
    template <bool Raw, class T>
    friend std::size_t detail::value_size(T const& value) noexcept;
    template <class T>
    friend bool detail::value_views(std::string const& out, T const& value) noexcept;

    kind kind_ = kind::text;
    payload payload_{};
};

namespace detail {
template <bool Raw, class T>
void write_value(std::string& out, T const& value) {
    if constexpr (is_html<T>) {
        out.append(value.view());
    } else if constexpr (std::is_same_v<T, template_value>) {
        value.template write<Raw>(out);
    } else if constexpr (is_number<T>) {
        out.append(format_number(value).view());
    } else if constexpr (has_text<T>) {
        append_text<Raw>(out, text_of(value));
    } else if constexpr (std::is_null_pointer_v<T>) {  // before fmt, which would write it as 0x0
        refuse_null_value<T>();
    } else if constexpr (fmt_formattable<T>) {
#if defined(PORTHOLE_WITH_FMT)
        if constexpr (Raw) {
            fmt::format_to(std::back_inserter(out), "{}", value);
        } else {
            fmt::memory_buffer formatted;  // inline storage: no allocation for short output
            fmt::format_to(std::back_inserter(formatted), "{}", value);
            html_escape(std::string_view(formatted.data(), formatted.size()), out);
        }
#endif
    } else {
        static_assert(dependent_false<T>,
                      "porthole: this type cannot be a template value; pass a string, a number, "
                      "a bool, porthole::html, or give it a fmt::formatter and build with fmt");
    }
}

// How much room a value takes in the output: exact for text, an upper bound for numbers.
template <bool Raw, class T>
std::size_t value_size(T const& value) noexcept {
    if constexpr (is_html<T>) {
        return value.view().size();
    } else if constexpr (std::is_same_v<T, template_value>) {
        return value.template size<Raw>();
    } else if constexpr (std::is_integral_v<T> && !has_text<T>) {
        return std::numeric_limits<T>::digits10 + 2;  // digits and sign
    } else if constexpr (std::is_floating_point_v<T>) {
        return std::numeric_limits<T>::max_digits10 + 8;  // sign, point, exponent
    } else if constexpr (has_text<T>) {
        return Raw ? text_of(value).size() : html_escaped_size(text_of(value));
    } else {
        return 0;  // formatted by fmt: unknown until written
    }
}

template <class T>
bool value_views(std::string const& out, T const& value) noexcept {
    if constexpr (is_html<T>) {
        return points_into(out, value.view().data());
    } else if constexpr (std::is_same_v<T, template_value>) {
        return (value.kind_ == template_value::kind::text || value.kind_ == template_value::kind::markup) &&
               points_into(out, value.payload_.text.data);
    } else if constexpr (std::is_convertible_v<T const&, char const*>) {
        return points_into(out, value);  // a C string or array: no strlen
    } else if constexpr (string_like<T>) {
        return points_into(out, std::string_view(value).data());
    } else {
        return false;
    }
}

// ---------------------------------------------------------------- parsing

enum class piece_kind : std::uint8_t { literal, escaped_marker, raw_marker };

// A literal run of the template, or a marker; for a marker, begin/size locate its name.
struct piece {
    static constexpr std::uint32_t no_slot = 0xffffffff;
    piece_kind kind;
    // Run-time templates: a name that occurs more than once has a slot, where its first marker
    // (`first_of_name`) puts the value found for it and the others take it from.
    bool first_of_name = false;
    std::uint32_t slot = no_slot;
    std::size_t begin;
    std::size_t size;
};

constexpr bool is_marker_name_start(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
constexpr bool is_marker_name_char(char c) noexcept {
    return is_marker_name_start(c) || (c >= '0' && c <= '9') || c == '.';
}

// Names are short: comparing in line beats a call to memcmp. At compile time it, with
// find_marker_delimiter, keeps the parse off string_view's members: g++ 12 cannot evaluate
// string_view::find on a template argument's text under -fsanitize=undefined (its check of the
// pointer against null is not a constant expression there).
constexpr bool same_name(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] != b[i]) return false;
    }
    return true;
}

// The first `@@` at or after `from`, or npos (a loop, for the reason same_name gives).
constexpr std::size_t find_marker_delimiter(std::string_view text, std::size_t from) noexcept {
    for (std::size_t i = from; i + 1 < text.size(); ++i)
        if (text[i] == '@' && text[i + 1] == '@') return i;
    return std::string_view::npos;
}

// Calls emit(piece) for each piece of text, left to right. An `@@` that does not start a
// marker is text, and the scan resumes one character later (so `@@@name@@` is "@" + marker).
template <class Emit>
constexpr void parse_template(std::string_view text, Emit&& emit) {
    std::size_t literal_begin = 0;
    std::size_t at = find_marker_delimiter(text, 0);
    while (at != std::string_view::npos) {
        std::size_t name = at + 2;
        bool const raw = name < text.size() && text[name] == '!';
        if (raw) ++name;
        std::size_t end = name;
        if (end < text.size() && is_marker_name_start(text[end])) {
            while (++end < text.size() && is_marker_name_char(text[end])) {}
        }
        if (end == name || end + 1 >= text.size() || text[end] != '@' || text[end + 1] != '@') {
            at = find_marker_delimiter(text, at + 1);
            continue;
        }
        if (at > literal_begin)
            emit(piece{.kind = piece_kind::literal, .begin = literal_begin, .size = at - literal_begin});
        emit(piece{
            .kind = raw ? piece_kind::raw_marker : piece_kind::escaped_marker, .begin = name, .size = end - name});
        literal_begin = end + 2;
        at = find_marker_delimiter(text, literal_begin);
    }
    if (literal_begin < text.size()) {
        emit(piece{.kind = piece_kind::literal, .begin = literal_begin, .size = text.size() - literal_begin});
    }
}

// ---------------------------------------------------------------- compile-time templates

// Template text or a value name as a template argument.
template <std::size_t N>
struct fixed_text {
    char data[N]{};
    constexpr fixed_text() noexcept = default;
    constexpr fixed_text(char const (&text)[N]) noexcept {  // NOLINT: implicit on purpose
        for (std::size_t i = 0; i < N; ++i) data[i] = text[i];
    }
    constexpr std::string_view view() const noexcept { return {data, N - 1}; }
};

template <fixed_text Text>
struct parsed_template {
    static constexpr std::string_view text = Text.view();
    static constexpr std::size_t piece_count = [] {
        std::size_t count = 0;
        parse_template(text, [&](piece) { ++count; });
        return count;
    }();
    static constexpr std::array<piece, piece_count> pieces = [] {
        std::array<piece, piece_count> result{};
        std::size_t i = 0;
        parse_template(text, [&](piece p) { result[i++] = p; });
        return result;
    }();
    static constexpr std::size_t literal_size = [] {
        std::size_t size = 0;
        for (piece p : pieces) size += p.kind == piece_kind::literal ? p.size : 0;
        return size;
    }();
    static constexpr std::size_t marker_count = [] {
        std::size_t count = 0;
        for (piece p : pieces) count += p.kind != piece_kind::literal;
        return count;
    }();
    static constexpr std::string_view name_of(piece p) noexcept { return text.substr(p.begin, p.size); }
    static constexpr bool has_marker(std::string_view name) noexcept {
        for (piece p : pieces) {
            if (p.kind != piece_kind::literal && same_name(name_of(p), name)) return true;
        }
        return false;
    }
};

// A value for a literal template: holds a reference to an lvalue, or the value of an rvalue.
template <fixed_text Name, class T>
struct named_arg {
    static constexpr std::string_view name = Name.view();
    T value;
};

template <class>
inline constexpr bool is_named_arg = false;
template <fixed_text Name, class T>
inline constexpr bool is_named_arg<named_arg<Name, T>> = true;

template <class T>
using arg_storage =
    std::conditional_t<std::is_lvalue_reference_v<T>, std::remove_reference_t<T> const&, std::remove_cvref_t<T>>;

template <fixed_text Name>
struct arg_name {
    template <class T>
    constexpr named_arg<Name, arg_storage<T&&>> operator=(T&& value) const {  // NOLINT
        return {std::forward<T>(value)};
    }
};

// "@@name@@" for diagnostics: compilers print it in the instantiation that fails.
template <std::size_t Size>
constexpr fixed_text<Size + 5> marker_label(std::string_view name) noexcept {
    fixed_text<Size + 5> label;
    label.data[0] = label.data[1] = '@';
    for (std::size_t i = 0; i < Size; ++i) label.data[2 + i] = name[i];
    label.data[Size + 2] = label.data[Size + 3] = '@';
    return label;
}

template <fixed_text Marker>
struct template_has_no_marker {
    static_assert(dependent_false<decltype(Marker)>,
                  "template has no marker for this value (named in template_has_no_marker<...>)");
};
template <fixed_text Marker>
struct no_value_given_for_marker {
    static_assert(dependent_false<decltype(Marker)>,
                  "no value given for a marker (named in no_value_given_for_marker<...>)");
};
template <fixed_text Marker>
struct value_given_twice_for_marker {
    static_assert(dependent_false<decltype(Marker)>,
                  "two values given for one marker (named in value_given_twice_for_marker<...>)");
};

inline constexpr std::string_view empty_value;

template <class... Args>
constexpr std::size_t index_of_value(std::string_view name) noexcept {
    constexpr std::array<std::string_view, sizeof...(Args)> names{Args::name...};
    std::size_t i = 0;
    while (i < names.size() && !same_name(names[i], name)) ++i;
    return i;
}
template <fixed_text Text, class... Args>
constexpr bool values_match_markers() {
    using parsed = parsed_template<Text>;
    constexpr std::array<std::string_view, sizeof...(Args)> names{Args::name...};
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!parsed::has_marker(names[i])) return false;
        for (std::size_t j = i + 1; j < names.size(); ++j) {
            if (same_name(names[j], names[i])) return false;
        }
    }
    for (piece p : parsed::pieces) {
        bool given = p.kind == piece_kind::literal;
        for (std::string_view name : names) given = given || same_name(name, parsed::name_of(p));
        if (!given) return false;
    }
    return true;
}

// Instantiates a diagnostic for each mismatch, so that every one is reported at once.
template <fixed_text Text, std::size_t J, class... Args>
constexpr void diagnose_value() {
    constexpr std::string_view name = std::tuple_element_t<J, std::tuple<Args...>>::name;
    if constexpr (!parsed_template<Text>::has_marker(name)) {
        (void)sizeof(template_has_no_marker<marker_label<name.size()>(name)>);
    } else if constexpr (index_of_value<Args...>(name) == J &&
                         (same_name(Args::name, name) + ... + 0) > 1) {  // reported at the first
        (void)sizeof(value_given_twice_for_marker<marker_label<name.size()>(name)>);
    }
}

template <fixed_text Text, std::size_t I, class... Args>
constexpr void diagnose_marker() {
    using parsed = parsed_template<Text>;
    constexpr piece p = parsed::pieces[I];
    if constexpr (p.kind != piece_kind::literal) {
        constexpr std::string_view name = parsed::name_of(p);
        if constexpr (!(same_name(Args::name, name) || ...)) {
            (void)sizeof(no_value_given_for_marker<marker_label<p.size>(name)>);
        }
    }
}

template <fixed_text Text, class... Args>
constexpr void diagnose_mismatch() {
    []<std::size_t... J>(std::index_sequence<J...>) { (diagnose_value<Text, J, Args...>(), ...); }
    (std::index_sequence_for<Args...>{});
    []<std::size_t... I>(std::index_sequence<I...>) { (diagnose_marker<Text, I, Args...>(), ...); }
    (std::make_index_sequence<parsed_template<Text>::piece_count>{});
}

// ---------------------------------------------------------------- run-time helpers

template <class F>
concept value_lookup = std::is_invocable_r_v<std::optional<template_value>, F&, std::string_view>;

}  // namespace detail

// A template whose text is known at compile time; parsed at compile time, checked against the
// names of the values at compile time, rendered by unrolled appends.
template <detail::fixed_text Text>
class literal_template {
    using parsed = detail::parsed_template<Text>;

public:
    static constexpr std::size_t piece_count = parsed::piece_count;
    static constexpr std::size_t marker_count = parsed::marker_count;
    static constexpr std::string_view text() noexcept { return parsed::text; }
    static constexpr bool has_marker(std::string_view name) noexcept { return parsed::has_marker(name); }

    // Values are porthole::arg<"name">(value) or "name"_v = value, in any order.
    template <class... Args>
    html render(Args const&... values) const {
        std::string out;
        render_to(out, values...);
        return html(std::move(out));
    }

    // Appends the rendering to out; with out's capacity kept from a previous render (clear()),
    // it allocates nothing.
    template <class... Args>
    void render_to(std::string& out, Args const&... values) const {
        static_assert((detail::is_named_arg<Args> && ...),
                      "literal templates take values as porthole::arg<\"name\">(value)");
        if constexpr (!(detail::is_named_arg<Args> && ...)) {
            return;
        } else if constexpr (!detail::values_match_markers<Text, Args...>()) {
            detail::diagnose_mismatch<Text, Args...>();
        } else if ((int{detail::value_views(out, values.value)} | ... | 0) != 0) [[unlikely]] {
            // A value views out, which rendering into would move (`|`: no branch per value).
            out.append(render(values...).view());
        } else {
            write_pieces(out, std::make_index_sequence<piece_count>{}, values...);
        }
    }

private:
    static constexpr bool is_raw(std::size_t i) { return parsed::pieces[i].kind == detail::piece_kind::raw_marker; }

    // The value for marker piece I; literal pieces count as an empty string.
    template <std::size_t I, class... Args>
    static auto const& value_of(Args const&... values) noexcept {
        constexpr detail::piece p = parsed::pieces[I];
        if constexpr (p.kind == detail::piece_kind::literal) {
            return detail::empty_value;
        } else {
            constexpr std::size_t j = detail::index_of_value<Args...>(parsed::name_of(p));
            return std::get<j>(std::tie(values...)).value;
        }
    }

    template <std::size_t... I, class... Args>
    static void write_pieces(std::string& out, std::index_sequence<I...>, Args const&... values) {
        out.reserve(out.size() + parsed::literal_size +
                    (detail::value_size<is_raw(I)>(value_of<I>(values...)) + ... + 0));
        auto write = [&]<std::size_t J>(std::integral_constant<std::size_t, J>) {
            constexpr detail::piece p = parsed::pieces[J];
            if constexpr (p.kind == detail::piece_kind::literal) {
                detail::append_literal(out, parsed::text.data() + p.begin, p.size);
            } else {
                detail::write_value<is_raw(J)>(out, value_of<J>(values...));
            }
        };
        const std::size_t start = out.size();
        try {
            (write(std::integral_constant<std::size_t, I>{}), ...);
        } catch (...) {  // a value's formatter (fmt) threw
            out.resize(start);
            throw;
        }
    }
};

template <detail::fixed_text Text>
constexpr literal_template<Text> make_template() noexcept {
    return {};
}

// The value for marker @@Name@@ of a literal template. An lvalue is referred to, not copied.
template <detail::fixed_text Name, class T>
constexpr detail::named_arg<Name, detail::arg_storage<T&&>> arg(T&& value) {
    return {std::forward<T>(value)};
}

namespace literals {
// "<p>@@name@@</p>"_tpl is make_template<"<p>@@name@@</p>">().
template <detail::fixed_text Text>
constexpr literal_template<Text> operator""_tpl() noexcept {
    return {};
}
// "name"_v = value is arg<"name">(value).
template <detail::fixed_text Name>
constexpr detail::arg_name<Name> operator""_v() noexcept {
    return {};
}
}  // namespace literals

// ---------------------------------------------------------------- run-time templates

// A value for a run-time template: {"name", value}.
struct named_value {
    std::string_view name;
    template_value value;
};

// A template parsed once from text known at run time. Rendering looks values up by name; a
// marker without a value throws template_error; render_to leaves the output as it was whenever
// it throws (a missing value, a lookup or a formatter that threw). Values with no marker are
// ignored, so one set of values can serve several templates; of two values for one name, one is
// used, the same at every occurrence.
class page_template {
public:
    page_template() = default;
    explicit page_template(std::string text);

    std::string_view text() const noexcept { return text_; }
    std::size_t piece_count() const noexcept { return pieces_.size(); }
    bool has_marker(std::string_view name) const noexcept {
        for (auto const& p : pieces_) {
            if (p.kind != detail::piece_kind::literal && name_of(p) == name) return true;
        }
        return false;
    }

    // tpl.render({{"title", title}, {"count", 3}})
    html render(std::span<const named_value> values) const {
        std::string out;
        render_to(out, values);
        return html(std::move(out));
    }
    html render(std::initializer_list<named_value> values) const {
        return render(std::span<const named_value>(values.begin(), values.size()));
    }
    void render_to(std::string& out, std::initializer_list<named_value> values) const {
        render_to(out, std::span<const named_value>(values.begin(), values.size()));
    }
    void render_to(std::string& out, std::span<const named_value> values) const {
        // Values usually come in the order of their markers: each search starts after the
        // previous match, so in-order values are found at the first compare.
        std::size_t next = 0;
        auto find = [values, &next](std::string_view name) -> template_value const* {
            for (std::size_t tried = 0, i = next; tried < values.size(); ++tried, ++i) {
                if (i == values.size()) i = 0;
                if (detail::same_name(values[i].name, name)) {
                    next = i + 1;
                    return &values[i].value;
                }
            }
            return nullptr;
        };
        // A name that occurs more than once is looked up at its first marker, and the value found
        // there serves every occurrence (of two values given for it, one: the same one throughout).
        std::array<template_value const*, 16> few_slots;
        std::vector<template_value const*> many_slots;
        template_value const** slots = few_slots.data();
        if (slot_count_ > few_slots.size()) [[unlikely]] {
            many_slots.resize(slot_count_);
            slots = many_slots.data();
        }
        auto value_for = [&](detail::piece const& p) -> template_value const* {
            if (p.slot == detail::piece::no_slot) return find(name_of(p));
            if (!p.first_of_name) return slots[p.slot];
            return slots[p.slot] = find(name_of(p));
        };
        std::size_t size = literal_size_;
        bool views_out = false;
        for (auto const& p : pieces_) {
            if (p.kind == detail::piece_kind::literal) continue;
            template_value const* v = value_for(p);
            if (!v) continue;
            size += is_raw(p) ? detail::value_size<true>(*v) : detail::value_size<false>(*v);
            views_out |= detail::value_views(out, *v);
        }
        if (views_out) [[unlikely]] {
            out.append(render(values).view());  // rendering into out would free what a value views
            return;
        }
        out.reserve(out.size() + size);
        next = 0;  // the same searches again, so the same values
        write<false>(out, value_for);
    }

    // lookup(std::string_view name) -> std::optional<template_value>, called once per marker in
    // order; std::nullopt means "no value". What a returned value views must outlive the call.
    template <detail::value_lookup Lookup>
    html render(Lookup&& lookup) const {
        std::string out;
        render_to(out, lookup);
        return html(std::move(out));
    }
    template <detail::value_lookup Lookup>
    void render_to(std::string& out, Lookup&& lookup) const {
        out.reserve(out.size() + literal_size_);
        write<true>(out, [this, &lookup](detail::piece const& p) -> std::optional<template_value> {
            return lookup(name_of(p));
        });
    }

private:
    std::string_view name_of(detail::piece const& p) const noexcept { return {text_.data() + p.begin, p.size}; }
    static bool is_raw(detail::piece const& p) noexcept { return p.kind == detail::piece_kind::raw_marker; }
    static void write_value(std::string& out, detail::piece const& p, template_value const& value) {
        if (is_raw(p)) detail::write_value<true>(out, value);
        else detail::write_value<false>(out, value);
    }

    // A value may view out itself when CheckViews (a lookup's values are known only here): it is
    // written through a copy, as appending to out may move out's bytes before they are read.
    template <bool CheckViews, class Find>
    void write(std::string& out, Find&& find) const {
        const std::size_t start = out.size();
        try {
            for (auto const& p : pieces_) {
                const std::string_view piece_text = name_of(p);
                if (p.kind == detail::piece_kind::literal) {
                    out.append(piece_text);
                    continue;
                }
                auto const value = find(p);
                if (!value) throw template_error("no value given for marker @@" + std::string(piece_text) + "@@");
                if (CheckViews && detail::value_views(out, *value)) [[unlikely]] {
                    std::string written;
                    write_value(written, p, *value);
                    out.append(written);
                } else {
                    write_value(out, p, *value);
                }
            }
        } catch (...) {  // a missing value, a lookup or a value's formatter that threw
            out.resize(start);
            throw;
        }
    }

    std::string text_;
    std::vector<detail::piece> pieces_;
    std::size_t literal_size_ = 0;
    std::uint32_t slot_count_ = 0;  // names that occur more than once
};

// Reads and parses a template file once. Throws template_error when it cannot be read, is not a
// regular file (a FIFO, a device, a directory), or holds more than max_file_size bytes.
PORTHOLE_DETAIL_INLINE page_template load_template(std::filesystem::path const& file,
                                                   std::size_t max_file_size = default_max_template_file_size);

}  // namespace porthole

// The bodies: in every file, or once (detail/compiled_once.hpp).
#if PORTHOLE_DETAIL_DEFINE_HERE
namespace porthole {

PORTHOLE_DETAIL_INLINE page_template::page_template(std::string text) : text_(std::move(text)) {
    detail::parse_template(text_, [this](detail::piece p) {
        if (p.kind == detail::piece_kind::literal) literal_size_ += p.size;
        pieces_.push_back(p);
    });
    // The markers by name, then by place (a sort: O(n log n) however many names repeat); each
    // name's later markers share a slot with its first.
    std::vector<std::size_t> markers;
    for (std::size_t i = 0; i < pieces_.size(); ++i)
        if (pieces_[i].kind != detail::piece_kind::literal) markers.push_back(i);
    std::sort(markers.begin(), markers.end(), [this](std::size_t a, std::size_t b) {
        auto na = name_of(pieces_[a]), nb = name_of(pieces_[b]);
        return na < nb || (na == nb && a < b);
    });
    for (std::size_t i = 1; i < markers.size(); ++i) {
        detail::piece& first = pieces_[markers[i - 1]];
        detail::piece& next = pieces_[markers[i]];
        if (name_of(first) != name_of(next)) continue;
        if (first.slot == detail::piece::no_slot) {  // the name's first marker
            first.first_of_name = true;
            first.slot = slot_count_++;
        }
        next.slot = first.slot;
    }
}

PORTHOLE_DETAIL_INLINE page_template load_template(std::filesystem::path const& file, std::size_t max_file_size) {
    return page_template(detail::read_template_file(file, detail::open_template_file(file), max_file_size));
}

}  // namespace porthole
#endif
