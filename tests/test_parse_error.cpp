#include <porthole/parse_error.hpp>

#include <doctest/doctest.h>

using namespace porthole;
using E = parse_error;

TEST_CASE("parse_error names and statuses are defined for every error") {
    CHECK(error_status(E::request_line_too_long) == status::uri_too_long);
    CHECK(error_status(E::too_many_headers) == status::request_header_fields_too_large);
    CHECK(error_status(E::headers_too_large) == status::request_header_fields_too_large);
    CHECK(error_status(E::body_too_large) == status::content_too_large);
    CHECK(error_status(E::unsupported_version) == status::http_version_not_supported);
    CHECK(error_status(E::unsupported_transfer_coding) == status::not_implemented);
    CHECK(error_status(E::bare_cr) == status::bad_request);
    CHECK(to_string(E::trailers_too_large) == "trailer section too large");
    CHECK(to_string(E::invalid_method) == "invalid method");
}
