#include <porthole/http.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace porthole;

TEST_CASE("methods are case-sensitive tokens mapped to their enum") {
    CHECK(method_from_string("GET") == method::get);
    CHECK(method_from_string("DELETE") == method::delete_);
    CHECK(method_from_string("OPTIONS") == method::options);
    CHECK(method_from_string("get") == method::other);
    CHECK(method_from_string("BREW") == method::other);
    CHECK(to_string(method::patch) == "PATCH");
}

TEST_CASE("method sets combine and test membership") {
    constexpr auto s = GET | PUT;
    static_assert(s.contains(method::get) && s.contains(method::put) && !s.contains(method::post));
    CHECK((s & PUT) == PUT);
    CHECK(!s.intersects(POST | DELETE));
    std::vector<method> seen;
    s.for_each([&](method m) { seen.push_back(m); });
    CHECK(seen == std::vector<method>{method::get, method::put});
}

TEST_CASE("media_type: a Content-Type without its parameters; is_urlencoded compares it") {
    CHECK(detail::media_type("text/html; charset=utf-8") == "text/html");
    CHECK(detail::media_type(" \tapplication/json \t") == "application/json");
    CHECK(detail::media_type("").empty());
    CHECK(detail::is_urlencoded("application/x-www-form-urlencoded"));
    CHECK(detail::is_urlencoded(" Application/X-WWW-Form-Urlencoded ; charset=utf-8"));
    CHECK_FALSE(detail::is_urlencoded("application/x-www-form-urlencoded-more"));
    CHECK_FALSE(detail::is_urlencoded("multipart/form-data; boundary=x"));
    CHECK_FALSE(detail::is_urlencoded(""));
}

TEST_CASE("every status the issue lists has its RFC 9110 reason phrase") {
    CHECK(reason_phrase(status::ok) == "OK");
    CHECK(reason_phrase(status::content_too_large) == "Content Too Large");
    CHECK(reason_phrase(status::request_header_fields_too_large) == "Request Header Fields Too Large");
    CHECK(reason_phrase(status::http_version_not_supported) == "HTTP Version Not Supported");
    CHECK(reason_phrase(status::insufficient_storage) == "Insufficient Storage");
    CHECK(reason_phrase(static_cast<status>(299)) == "Success");
    for (unsigned c :
         {100u, 200u, 201u, 202u, 204u, 206u, 301u, 302u, 303u, 304u, 307u, 308u, 400u, 401u, 403u, 404u, 405u,
          408u, 409u, 411u, 412u, 413u, 414u, 415u, 416u, 417u, 422u, 429u, 431u, 500u, 501u, 503u, 505u, 507u}) {
        auto p = reason_phrase(static_cast<status>(c));
        CAPTURE(c);
        CHECK(p != "Informational");
        CHECK(p != "Success");
        CHECK(p != "Redirection");
        CHECK(p != "Client Error");
        CHECK(p != "Server Error");
    }
}

TEST_CASE("1xx, 204 and 304 carry no body") {
    CHECK(!status_allows_body(status::continue_));
    CHECK(!status_allows_body(status::no_content));
    CHECK(!status_allows_body(status::not_modified));
    CHECK(status_allows_body(status::ok));
    CHECK(status_allows_body(status::not_found));
}

TEST_CASE("header names compare case-insensitively") {
    CHECK(iequals("Content-Length", "content-length"));
    CHECK(!iequals("Content-Length", "content-lengt"));
    header_field fields[] = {{"Host", "a"}, {"X-A", "1"}, {"x-a", "2"}};
    auto f = find_header(fields, "X-A");
    REQUIRE(f != nullptr);
    CHECK(f->value == "1");
    CHECK(find_header(fields, "Cookie") == nullptr);
}

TEST_CASE("comma-separated lists are split with OWS trimmed and empty items skipped") {
    std::vector<std::string> items;
    for_each_list_item(" a ,\tb,,c , ", [&](std::string_view t) { items.emplace_back(t); });
    CHECK(items == std::vector<std::string>{"a", "b", "c"});
    CHECK(list_contains("keep-alive, Upgrade", "upgrade"));
    CHECK(!list_contains("keep-alive, Upgrade2", "upgrade"));
}

TEST_CASE("character classes follow RFC 9110") {
    CHECK(detail::is_token("X-Custom_Header.1~"));
    CHECK(!detail::is_token("Bad(Name"));
    CHECK(!detail::is_token(""));
    CHECK(detail::is_field_char('\t'));
    CHECK(detail::is_field_char('\x80'));
    CHECK(!detail::is_field_char('\x7f'));
    CHECK(!detail::is_field_char('\0'));
    CHECK(!detail::is_field_char('\r'));
}

TEST_CASE("split_absolute_form: the scheme and authority of an absolute-form target, nothing for other forms") {
    using porthole::detail::split_absolute_form;
    auto parts = split_absolute_form("http://a.example:81/p?q");
    REQUIRE(parts);
    CHECK(parts->scheme == "http");
    CHECK(parts->authority == "a.example:81");
    CHECK(split_absolute_form("HTTPS://[::1]:9/")->scheme == "HTTPS");
    CHECK(split_absolute_form("https://[::1]:9/")->authority == "[::1]:9");
    CHECK(split_absolute_form("http://h?q#f")->authority == "h");
    CHECK(split_absolute_form("http://h")->authority == "h");
    CHECK(split_absolute_form("http://")->authority.empty());
    CHECK(!split_absolute_form("/p://x"));
    CHECK(!split_absolute_form("*"));
    CHECK(!split_absolute_form("h.example:443"));  // authority-form
    CHECK(!split_absolute_form(""));
}
