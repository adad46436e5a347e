// porthole/form.hpp: the fields of a submitted form, urlencoded or multipart, read from a
// request according to its Content-Type.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/multipart.hpp>
#include <porthole/request.hpp>
#include <porthole/url.hpp>

#include <cstddef>
#include <string_view>
#include <vector>

namespace porthole {

// True when the body is application/x-www-form-urlencoded.
inline bool is_urlencoded_form(request const& req) noexcept {
    return detail::is_urlencoded(req.header("Content-Type").value_or(""));
}

// The name=value pairs of an application/x-www-form-urlencoded body, raw (decode them with
// url::decode_form); none when the body is of another type.
inline url::query_params form_fields(request const& req) noexcept {
    return url::query_params(is_urlencoded_form(req) ? req.body() : std::string_view{});
}

// The parts of a multipart/form-data body, the boundary taken from Content-Type, replacing
// the contents of `out` (views into the body). False, with `out` empty, when the request is
// not multipart/form-data or the body is malformed.
inline bool multipart_parts(request const& req, std::vector<multipart::part>& out, std::size_t max_parts = 100) {
    out.clear();
    auto type = req.header("Content-Type").value_or("");
    if (!iequals(detail::media_type(type), "multipart/form-data")) return false;
    auto boundary = multipart::boundary_from_content_type(type);
    return boundary && multipart::parse(req.body(), *boundary, out, max_parts);
}

}  // namespace porthole
