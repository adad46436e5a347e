// porthole/cors.hpp: Cross-Origin Resource Sharing as a layer (WHATWG Fetch standard, "CORS
// protocol"; RFC 9110 for Vary and OPTIONS). It tells browsers which other origins may read
// this server's responses; it is not access control: a request from an origin it refuses
// still reaches the application (non-browser clients send what they like), the browser only
// keeps the answer from the page.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/layer.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace porthole {

struct cors_options {
    // Origins allowed to read responses, exactly as browsers send them ("https://app.example",
    // "http://127.0.0.1:3000": scheme, host and a port other than the default). "*" allows any.
    std::vector<std::string> origins{};
    // Also allowed: the origins this returns true for (called when the list has no match).
    std::function<bool(std::string_view origin)> allow_origin{};
    // Responses may be read by requests with credentials (cookies, HTTP authentication):
    // Access-Control-Allow-Credentials: true, and the origin named, never "*". Not with "*" or
    // "null" in `origins`: every page on the web could read what the user's cookies unlock
    // (any page can send `Origin: null`, from a sandboxed frame).
    bool credentials = false;
    // Methods a preflight may ask for (CORS-safelisted GET, HEAD and POST never need one).
    std::vector<std::string> methods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
    // Request header fields a preflight may ask for, case-insensitive; empty: whatever it asks
    // for (each a valid field name).
    std::vector<std::string> allow_headers{};
    // Response header fields a page may read beyond the CORS-safelisted ones.
    std::vector<std::string> expose_headers{};
    // How long a browser may cache a preflight's answer (Chromium caps it at 2 hours); negative:
    // no Access-Control-Max-Age.
    std::chrono::seconds max_age{600};
    // Answer Chromium's Private Network Access preflights (a public page reaching a server on
    // loopback or a private address) with Access-Control-Allow-Private-Network: true.
    bool private_network = false;
};

// The CORS layer:
//  - a preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here, never
//    reaching the application: 204 with Access-Control-Allow-Origin, -Methods, -Headers, -Max-Age
//    (and -Credentials) when the origin, the method and every requested header are allowed,
//    otherwise 403 without them, which the browser reports as a CORS failure;
//  - other requests go on, and a response to an allowed origin gets Access-Control-Allow-Origin
//    (and -Credentials, -Expose-Headers);
//  - every response whose headers depend on the Origin gets `Vary: Origin`, so that a cache never
//    serves one origin's answer to another.
class cors {
public:
    // Throws std::invalid_argument for a method or a header field name that is not a token
    // (no response could list it), and for "*" or "null" with credentials (browsers refuse "*"
    // with them; naming every origin instead, or "null", which any page can send, would open
    // the user's data to every page).
    explicit cors(cors_options o) : opts_(std::move(o)) {
        for (auto const& origin : opts_.origins) {
            if (origin == "*") any_origin_ = true;
            if ((origin == "*" || origin == "null") && opts_.credentials)
                throw std::invalid_argument("porthole::cors: origin \"" + origin +
                                            "\" with credentials would let any page read what the user's "
                                            "credentials unlock; list the origins, or decide with allow_origin");
        }
        for (auto const* names : {&opts_.methods, &opts_.allow_headers, &opts_.expose_headers})
            for (auto const& name : *names) detail::require_sendable("porthole::cors", name);
        join(opts_.methods, methods_);
        join(opts_.allow_headers, allow_headers_);
        join(opts_.expose_headers, expose_headers_);
        if (opts_.max_age.count() >= 0) max_age_ = std::to_string(opts_.max_age.count());
    }

    struct state {
        std::string origin;  // the allowed origin to name, or empty
    };

    layer_result<state> before(request const& req) const {
        // An empty one names no origin; two lines name none either (a browser sends one).
        auto origin = detail::single_value(req, "Origin").value_or("");
        if (origin.empty()) return state{};
        bool allowed = allows(origin);
        if (req.method() == method::options && req.header("Access-Control-Request-Method"))
            return preflight(req, origin, allowed);
        return allowed ? state{std::string(origin)} : state{};
    }

    void after(state& s, response& res) const {
        if (!any_origin_) res.add_vary("Origin");
        // With "*", every response says so, one without Origin too, so that a cache may give it
        // to any request (Fetch, "CORS protocol and HTTP caches").
        if (s.origin.empty() && !any_origin_) return;
        allow(res, s.origin);
        if (!expose_headers_.empty()) res.set_header("Access-Control-Expose-Headers", expose_headers_);
    }

    // Whether `origin` may read responses.
    bool allows(std::string_view origin) const {
        if (any_origin_) return true;
        for (auto const& o : opts_.origins)
            if (o == origin) return true;  // origins compare exactly (Fetch: byte for byte)
        return opts_.allow_origin && opts_.allow_origin(origin);
    }

private:
    void allow(response& res, std::string_view origin) const {
        res.set_header("Access-Control-Allow-Origin", any_origin_ ? std::string_view("*") : origin);
        if (opts_.credentials) res.set_header("Access-Control-Allow-Credentials", "true");
    }

    response preflight(request const& req, std::string_view origin, bool allowed) const {
        auto refuse = [&] {
            auto r = response::static_text("CORS preflight refused", "text/plain; charset=utf-8", status::forbidden);
            if (!any_origin_) r.add_vary("Origin");
            return r;
        };
        if (!allowed) return refuse();
        auto wanted = detail::trim_ows(req.header("Access-Control-Request-Method").value_or(""));
        bool method_ok = false;
        for (auto const& m : opts_.methods) method_ok = method_ok || m == wanted;
        // The CORS-safelisted methods need no permission (Fetch: "CORS-safelisted method").
        if (wanted == "GET" || wanted == "HEAD" || wanted == "POST") method_ok = true;
        if (!method_ok) return refuse();
        // Every line of it: one list (RFC 9110 5.3), which a client may split.
        bool headers_ok = true;
        std::string asked;  // the names, for a layer that allows any: it names them back
        for (auto const& f : req.headers()) {
            if (!headers_ok || !iequals(f.name, "Access-Control-Request-Headers")) continue;
            for_each_list_item(f.value, [&](std::string_view h) {
                headers_ok = detail::is_token(h) && (opts_.allow_headers.empty() || listed(opts_.allow_headers, h));
                if (!asked.empty()) asked += ", ";
                asked += h;
                return headers_ok;
            });
        }
        if (!headers_ok) return refuse();

        response r(status::no_content);
        allow(r, origin);
        if (!methods_.empty()) r.set_header("Access-Control-Allow-Methods", methods_);
        auto headers = opts_.allow_headers.empty() ? std::string_view(asked) : std::string_view(allow_headers_);
        if (!headers.empty()) r.set_header("Access-Control-Allow-Headers", headers);
        if (!max_age_.empty()) r.set_header("Access-Control-Max-Age", max_age_);
        if (opts_.private_network && iequals(req.header("Access-Control-Request-Private-Network").value_or(""), "true"))
            r.set_header("Access-Control-Allow-Private-Network", "true");
        // The answer depends on all three request fields.
        if (!any_origin_) r.add_vary("Origin");
        r.add_vary("Access-Control-Request-Method");
        r.add_vary("Access-Control-Request-Headers");
        return r;
    }

    static bool listed(std::vector<std::string> const& list, std::string_view name) {
        for (auto const& x : list)
            if (iequals(x, name)) return true;
        return false;
    }
    static void join(std::vector<std::string> const& items, std::string& out) {
        for (auto const& i : items) {
            if (!out.empty()) out += ", ";
            out += i;
        }
    }

    cors_options opts_;
    bool any_origin_ = false;  // "*": the same fields on every response, so no Vary is needed
    std::string methods_;
    std::string allow_headers_;
    std::string expose_headers_;
    std::string max_age_;
};

}  // namespace porthole
