// The echo application: what it received, sent back. Later tests use it as a probe.
//   GET /, HEAD /     200 "OK"
//   OPTIONS /         200 with Allow
//   POST /            200, the request body
//   POST /echo        200, the received header fields, one "Name: Value" per line
//   GET /cookie       200, the received cookies, one "name=value" per line
//   GET /count        200, how many requests the application has received
//   GET /header?value=V     200 with header X-Echo: V (decoded): a probe for response splitting
//   GET /set-cookie?name=N&value=V   200 with Set-Cookie N=V; Path=/; HttpOnly
// HEAD is answered as GET; another method gets 405 with the path's Allow.
// Every response carries X-Body-Length, the decoded body length it received.
#pragma once

#include <porthole/cookie.hpp>
#include <porthole/request.hpp>
#include <porthole/response.hpp>

#include <atomic>
#include <string>

struct echo_app {
    std::atomic<unsigned long>* received;  // shared by the server's threads

    porthole::response operator()(porthole::request const& req) const {
        auto n = received->fetch_add(1, std::memory_order_relaxed) + 1;
        auto res = answer(req, n);
        res.set_header("X-Body-Length", std::to_string(req.body().size()));
        return res;
    }

    static porthole::response answer(porthole::request const& req, unsigned long n) {
        using porthole::method;
        auto path = req.path();
        auto m = req.method();
        bool get = m == method::get || m == method::head;  // HEAD: GET's head (RFC 9110 9.3.2)
        if (path == "/") {
            if (get) return porthole::response::text("OK");
            if (m == method::options)
                return porthole::response(porthole::status::ok).set_header("Allow", "GET, HEAD, OPTIONS, POST");
            if (m == method::post) return porthole::response::text(std::string(req.body()));
            return not_allowed("GET, HEAD, OPTIONS, POST");
        }
        if (path == "/echo") {
            if (m != method::post) return not_allowed("POST");
            std::string out;
            for (auto const& f : req.headers()) {
                out.append(f.name).append(": ").append(f.value).push_back('\n');
            }
            return porthole::response::text(std::move(out));
        }
        if (path != "/cookie" && path != "/header" && path != "/set-cookie" && path != "/count")
            return porthole::response(porthole::status::not_found);
        if (!get) return not_allowed("GET, HEAD");
        if (path == "/cookie") {
            std::string out;
            for (auto const& f : req.headers())
                if (porthole::iequals(f.name, "Cookie"))
                    for (auto const& c : porthole::cookies_view(f.value))
                        out.append(c.name).append("=").append(c.value).push_back('\n');
            return porthole::response::text(std::move(out));
        }
        if (path == "/header") {
            auto res = porthole::response::text("header set\n");
            res.set_header("X-Echo", req.query("value").value_or(""));  // CR/LF here: refused, 500
            return res;
        }
        if (path == "/set-cookie") {
            auto cookie = porthole::set_cookie(req.query("name").value_or("n"), req.query("value").value_or(""))
                              .path("/")
                              .http_only();
            if (!cookie.valid()) return porthole::response::text("invalid cookie\n", porthole::status::bad_request);
            return porthole::response::text("cookie set\n").add_header("Set-Cookie", cookie.to_string());
        }
        return porthole::response::text(std::to_string(n - 1));  // /count
    }

    static porthole::response not_allowed(char const* allow) {
        return porthole::response(porthole::status::method_not_allowed).set_header("Allow", allow);
    }
};
