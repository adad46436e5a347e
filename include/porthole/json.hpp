// porthole/json.hpp: JSON through nlohmann/json, which porthole does not replace: a handler may
// return a nlohmann::json (200 application/json), read a request body as JSON with a clear
// refusal when it is not, or take a typed body parameter converted by nlohmann's from_json.
// Lights up as fmt does: meson defines PORTHOLE_WITH_JSON when it finds nlohmann_json, and
// porthole.hpp then includes this header; with the single header, define it yourself.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/app.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace porthole {

namespace detail {
// A JSON value as a body: compact, and invalid UTF-8 in strings replaced (U+FFFD) rather than
// thrown about: an application's byte strings never turn a response into a 500.
template <class Json>
std::string dump_json(Json const& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// {"error": message}, 400 or as given: the message escaped by the writer, never pasted.
inline response json_error(status s, std::string_view message) {
    nlohmann::json body = {{"error", message}};
    return response::json(dump_json(body), s);
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

// The request's body as JSON, or nullopt with `refusal` set to the answer:
//  - 415 Unsupported Media Type when the Content-Type is there and is not JSON (application/json
//    or a +json type); a body without a Content-Type is read as JSON;
//  - 400 Bad Request with {"error": "<the parser's message>"} when the body is not JSON.
template <class Json = nlohmann::json>
std::optional<Json> read_json(request const& req, response& refusal) {
    auto type = req.header("Content-Type").value_or("");  // an empty one says no more than none
    if (!type.empty() && !detail::is_json_media_type(type)) {
        refusal = detail::json_error(status::unsupported_media_type, "expected Content-Type: application/json");
        return std::nullopt;
    }
    try {
        return Json::parse(req.body());
    } catch (nlohmann::json::exception const& e) {
        refusal = detail::json_error(status::bad_request, e.what());
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
    static std::optional<json_body<T>> read(request const& req, response& refusal) {
        auto j = read_json(req, refusal);
        if (!j) return std::nullopt;
        try {
            return json_body<T>{j->template get<T>()};
        } catch (nlohmann::json::exception const& e) {
            refusal = detail::json_error(status::bad_request, e.what());
            return std::nullopt;
        }
    }
};

}  // namespace porthole
