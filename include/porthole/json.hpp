// porthole/json.hpp: JSON through nlohmann/json, which porthole does not replace: a handler may
// return a nlohmann::json (200 application/json), read a request body as JSON with a clear
// refusal when it is not, or take a typed body parameter converted by nlohmann's from_json.
// Lights up as fmt does: meson defines PORTHOLE_WITH_JSON when it finds nlohmann_json, and
// porthole.hpp then includes this header; with the single header, define it yourself.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/app.hpp>
#include <porthole/json_string.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace porthole {

namespace detail {
// A JSON value as a body: compact, invalid UTF-8 in strings replaced (U+FFFD) rather than
// thrown about (an application's byte strings never turn a response into a 500), and safe
// inside a <script> as every JSON porthole writes (make_script_safe).
template <class Json>
std::string dump_json(Json const& j) {
    auto text = j.dump(-1, ' ', false, Json::error_handler_t::replace);
    make_script_safe(text);
    return text;
}

// {"error": message}, 400 or as given: the message escaped by the writer, never pasted.
inline response json_error(status s, std::string_view message) {
    nlohmann::json body = {{"error", message}};
    return response::json(dump_json(body), s);
}

// nlohmann's message for a client: without the "[json.exception.parse_error.101] " that names
// the exception's class and number in the library (nothing a client can act on).
inline std::string_view client_message(nlohmann::json::exception const& e) noexcept {
    std::string_view m = e.what();
    if (m.starts_with("[json.exception.")) {
        if (auto end = m.find("] "); end != std::string_view::npos) m.remove_prefix(end + 2);
    }
    return m;
}

// application/json, or any type with a +json suffix (RFC 6839), parameters aside.
constexpr bool is_json_media_type(std::string_view type) noexcept {
    return iequals(media_type(type), "application/json") || media_type_ends_with(type, "+json");
}
}  // namespace detail

// `j` as a response with status `s`: application/json.
template <class Json = nlohmann::json>
response json_response(Json const& j, status s = status::ok) {
    return response::json(detail::dump_json(j), s);
}

template <>
struct response_converter<nlohmann::json> {
    static response convert(nlohmann::json const& j) { return json_response(j); }
};
template <>
struct response_converter<nlohmann::ordered_json> {
    static response convert(nlohmann::ordered_json const& j) { return json_response(j); }
};

// How deeply arrays and objects may nest in a body read_json takes. nlohmann parses and frees
// any depth without recursion, but copies, compares and dumps by recursion: a 120 KB body of
// 60,000 '[' would overflow the stack of whatever code copies or writes the value.
inline constexpr int json_max_depth = 256;

namespace detail {
// Whether arrays and objects nest deeper than `max` in `text`: brackets counted outside strings,
// in one pass (nlohmann's callback parser would say the same at a quarter more per parse). Not a
// parser: a body that is not JSON is nlohmann's to refuse, unless it is this deep.
constexpr bool nests_deeper(std::string_view text, int max) noexcept {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max) return true;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return false;
}
}  // namespace detail

// The request's body as JSON, or nullopt with `refusal` set to the answer:
//  - 415 Unsupported Media Type when the Content-Type is there and is not JSON (application/json
//    or a +json type); a body without a Content-Type is read as JSON;
//  - 400 Bad Request with {"error": "<the parser's message>"} when the body is not JSON (a NUL
//    byte anywhere included, RFC 8259 2), or nests arrays and objects deeper than `max_depth` levels.
template <class Json = nlohmann::json>
std::optional<Json> read_json(request const& req, response& refusal, int max_depth = json_max_depth) {
    auto type = req.header("Content-Type").value_or("");  // an empty one says no more than none
    if (!type.empty() && !detail::is_json_media_type(type)) {
        refusal = detail::json_error(status::unsupported_media_type, "expected Content-Type: application/json");
        return std::nullopt;
    }
    // nlohmann's lexer takes a NUL byte for the end of its input, and would read what comes
    // before it alone: `{"a":1}\0{"admin":true}` as {"a":1}, where another reader may not.
    if (req.body().find('\0') != std::string_view::npos) {
        refusal = detail::json_error(status::bad_request, "a NUL byte in the body: not JSON text");
        return std::nullopt;
    }
    if (detail::nests_deeper(req.body(), max_depth)) {
        refusal = detail::json_error(status::bad_request,
                                     "arrays and objects nest deeper than " + std::to_string(max_depth) + " levels");
        return std::nullopt;
    }
    try {
        return Json::parse(req.body());
    } catch (nlohmann::json::exception const& e) {
        refusal = detail::json_error(status::bad_request, detail::client_message(e));
        return std::nullopt;
    }
}

// A route handler's last parameter that takes the body as JSON converted to T through
// nlohmann's from_json (or adl_serializer):
//
//   struct item { std::string name; };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(item, name)
//   porthole::post<"/items">([](porthole::json_body<item> body) { return body->name; })
//
// A body that is not JSON gets read_json's refusal; JSON that does not convert (a member
// missing, a type wrong) gets 400 with nlohmann's message. The handler never runs for either.
template <class T>
struct json_body {
    T value;
    T& operator*() noexcept { return value; }
    T const& operator*() const noexcept { return value; }
    T* operator->() noexcept { return &value; }
    T const* operator->() const noexcept { return &value; }
};

template <class T>
struct body_reader<json_body<T>> {
    // Checked where read() is instantiated, so that the first error says what to write rather
    // than quoting nlohmann's overload resolution (a hundred lines that name no line of the
    // program), and the route's own checks, which see only read()'s declaration, add none.
    static constexpr bool convertible = requires(nlohmann::json const& j) { j.template get<T>(); };

    static std::optional<json_body<T>> read(request const& req, response& refusal) {
        if constexpr (convertible) {
            auto j = read_json(req, refusal);
            if (!j) return std::nullopt;
            try {
                if constexpr (std::is_same_v<T, std::remove_cvref_t<decltype(*j)>>) return json_body<T>{std::move(*j)};
                else return json_body<T>{j->template get<T>()};
            } catch (nlohmann::json::exception const& e) {
                refusal = detail::json_error(status::bad_request, detail::client_message(e));
                return std::nullopt;
            }
        } else {
            static_assert(convertible,
                          "porthole::json_body<T>: nlohmann cannot convert JSON to T; write "
                          "NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(T, member...) beside T, a from_json(nlohmann::json "
                          "const&, T&) in T's namespace, or an nlohmann::adl_serializer<T>");
            return std::nullopt;
        }
    }
};

}  // namespace porthole
