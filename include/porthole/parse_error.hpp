// porthole/parse_error.hpp: what a message parser refuses and how it says so: the limits it
// applies while bytes arrive, and one error per violated rule (RFC 9112), each with the status
// to answer. Shared by request_parser and chunked_decoder.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/http.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace porthole {

// The parser's limits: what it accepts while bytes arrive, so that an oversized message is
// refused before it is buffered whole. A server takes them as server_options::limits, a
// connection as connection_config::limits.
struct parser_limits {
    std::size_t max_request_line = 8 * 1024;   // 414 beyond
    std::size_t max_header_bytes = 16 * 1024;  // 431 beyond (all field lines, request line excluded)
    std::size_t max_header_line = 8 * 1024;    // 431 beyond (one field line)
    std::size_t max_header_count = 100;        // 431 beyond
    std::uint64_t max_body = 1024 * 1024;      // 413 beyond (decoded size for chunked bodies)
    std::size_t max_chunk_extension = 1024;    // 400 beyond (per chunk, from the first ';')
    // Chunk framing (size lines, extensions, CRLFs) beyond 32 bytes plus the chunk's own size,
    // summed over one body: framing out of proportion to the data it carries. 400 beyond.
    std::size_t max_chunk_overhead = 16 * 1024;
    std::size_t max_trailer_bytes = 8 * 1024;  // 431 beyond
    bool allow_bare_lf = false;                // RFC 9112 2.2 MAY: off, a bare LF is a 400
};

enum class parse_status : std::uint8_t { incomplete, complete, error };

// One error per rule; error_status() gives the status to answer. Every parse error closes the
// connection: once a message is malformed, where the next one starts is in doubt.
enum class parse_error : std::uint8_t {
    none,
    // request line
    invalid_method,
    method_too_long,       // the request line limit ran out inside the method
    too_many_empty_lines,  // empty lines before the request line filled its limit
    invalid_target,
    backslash_in_path,     // not a URI character (RFC 3986 2); some servers read it as '/'
    target_form_mismatch,  // '*' without OPTIONS, CONNECT without authority-form, ...
    invalid_version,
    unsupported_version,
    request_line_too_long,  // the request line limit ran out inside the target
    // line framing
    bare_cr,
    bare_lf,
    // field lines (of the header section and of the trailer section)
    whitespace_before_first_header,
    obs_fold,
    empty_header_name,
    invalid_header_name,
    whitespace_before_colon,
    missing_colon,
    invalid_header_value,
    too_many_headers,
    headers_too_large,
    missing_host,
    multiple_host,
    invalid_host,
    empty_host,              // on a target without an authority of its own (origin-form, '*')
    multiple_content_type,   // two readers could take different media types (RFC 9110 8.3)
    multiple_authorization,  // two readers could take different credentials (RFC 9110 11.6.2)
    // body framing (RFC 9112 6)
    invalid_content_length,
    content_length_leading_zero,  // "005": read differently by some parsers
    conflicting_content_length,
    content_length_with_transfer_encoding,
    transfer_encoding_in_http10,
    chunked_not_final,
    invalid_transfer_encoding,
    unsupported_transfer_coding,
    body_too_large,
    // chunked coding (RFC 9112 7.1)
    invalid_chunk_size,
    chunk_size_overflow,
    invalid_chunk_extension,        // something other than ";" where an extension may start
    invalid_chunk_extension_name,   // ";" not followed by a token
    invalid_chunk_extension_value,  // "=" not followed by a token or a quoted-string
    unterminated_quoted_string,     // the line ends inside a quoted-string
    invalid_quoted_string,          // a byte that neither qdtext nor a quoted-pair allows
    chunk_extension_too_long,
    chunk_overhead_too_large,  // framing out of proportion to the data (max_chunk_overhead)
    missing_chunk_data_crlf,
    trailers_too_large,
};

constexpr status error_status(parse_error e) noexcept {
    switch (e) {
        case parse_error::none: return status::ok;
        case parse_error::unsupported_version: return status::http_version_not_supported;
        case parse_error::request_line_too_long: return status::uri_too_long;
        case parse_error::too_many_headers:
        case parse_error::headers_too_large:
        case parse_error::trailers_too_large: return status::request_header_fields_too_large;
        case parse_error::unsupported_transfer_coding: return status::not_implemented;
        case parse_error::body_too_large: return status::content_too_large;
        default: return status::bad_request;
    }
}

constexpr std::string_view to_string(parse_error e) noexcept {
    constexpr std::string_view names[] = {"none",
                                          "invalid method",
                                          "method too long",
                                          "too many empty lines before the request line",
                                          "invalid request target",
                                          "backslash in the request path",
                                          "request target form does not fit the method",
                                          "invalid HTTP version",
                                          "unsupported HTTP version",
                                          "request line too long",
                                          "bare CR",
                                          "bare LF",
                                          "whitespace before the first header field",
                                          "obsolete line folding",
                                          "empty field name",
                                          "invalid field name",
                                          "whitespace before colon",
                                          "field line without colon",
                                          "invalid field value",
                                          "too many header fields",
                                          "header section too large",
                                          "missing Host",
                                          "more than one Host",
                                          "invalid Host",
                                          "empty Host",
                                          "more than one Content-Type",
                                          "more than one Authorization",
                                          "invalid Content-Length",
                                          "Content-Length with a leading zero",
                                          "conflicting Content-Length values",
                                          "Content-Length together with Transfer-Encoding",
                                          "Transfer-Encoding in an HTTP/1.0 request",
                                          "chunked is not the final transfer coding",
                                          "invalid Transfer-Encoding",
                                          "unsupported transfer coding",
                                          "body too large",
                                          "invalid chunk size",
                                          "chunk size overflow",
                                          "invalid chunk extension",
                                          "invalid chunk extension name",
                                          "invalid chunk extension value",
                                          "unterminated quoted-string",
                                          "invalid byte in a quoted-string",
                                          "chunk extension too long",
                                          "chunk framing out of proportion to its data",
                                          "chunk data not followed by CRLF",
                                          "trailer section too large"};
    static_assert(std::size(names) == static_cast<std::size_t>(parse_error::trailers_too_large) + 1);
    auto i = static_cast<std::size_t>(e);
    return i < std::size(names) ? names[i] : std::string_view{"unknown"};
}

}  // namespace porthole
