#include "routes.hpp"

#include <porthole/auth.hpp>
#include <porthole/event_hub.hpp>
#include <porthole/exposition.hpp>
#include <porthole/expvar.hpp>
#include <porthole/random.hpp>
#include <porthole/security_headers.hpp>
#include <porthole/template.hpp>

#include <optional>
#include <string>

// What the program shows of itself, through parts whose bodies implementation.cpp compiles
// (porthole/detail/compiled_once.hpp): metrics, published variables, an event hub, an access
// token, security headers, and a template read from a file at run time.
namespace separate {

namespace {
auto const served = porthole::expvar::publish_counter("observe_served");
}

porthole::response metrics(porthole::request const& req) {
    served.add();
    return porthole::prometheus_metrics()(req);
}

porthole::response vars(porthole::request const& req) { return porthole::debug_vars()(req); }

// An event published, then a stream that replays it and ends: the hub is closed before the
// stream is sent, which ends it once it has been sent what was published before.
porthole::response one_event(porthole::request const&) {
    porthole::event_hub hub;
    auto id = hub.publish("hello", "one event");
    auto stream = hub.subscribe(std::to_string(id - 1));
    hub.close();
    return stream;
}

// ?token=... trades a fixed token for a session cookie (a 303), with security headers on the
// answer; no token is a 401.
porthole::response token(porthole::request const& req) {
    porthole::access_token gate({.token = "s3cret"});
    auto answer = gate.before(req);
    auto res = answer ? std::move(*answer) : porthole::response::text("in\n");
    porthole::security_headers headers;
    auto over_tls = headers.before(req).state;
    headers.after(over_tls, res);
    return res;
}

porthole::response file_page(porthole::request const& req, std::string const& file) {
    auto page = porthole::load_template(file);
    std::string who(req.query("who").value_or("nobody"));
    return porthole::response::html(page.render({{"who", who}, {"token_length", porthole::random_token(8).size()}}));
}

}  // namespace separate
