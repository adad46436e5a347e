// rest_api: a JSON CRUD API over an in-memory map (see rest_api_app.hpp for the routes), with
// the layers a prototype API wants.
//   build/examples/rest_api --port 8080 --threads 2 [--access-log] [--rate-limit N]
//                           [--cors-origin ORIGIN]... [--basic-auth USER:PASSWORD]
//   curl -i --json '{"name": "chair"}' http://127.0.0.1:8080/items
//   curl -i http://127.0.0.1:8080/items/1
// Every response the application or a layer makes carries an X-Request-Id (the client's own, or a
// new one; the connection's own answers to requests it could not read, such as 400, do not). --access-log writes
// one Common Log Format line per response to stderr. --rate-limit lets each client address make
// N requests a second (and N at once); beyond, 429 with Retry-After. --cors-origin lets pages
// from ORIGIN ("http://127.0.0.1:3000") read the API; repeatable. --basic-auth makes POST, PUT
// and DELETE ask for that user and password (over TLS or loopback only: Basic credentials travel
// in clear text).
#include "rest_api_app.hpp"

#include <porthole/access_log.hpp>
#include <porthole/auth.hpp>
#include <porthole/cors.hpp>
#include <porthole/rate_limit.hpp>
#include <porthole/request_id.hpp>
#include <porthole/server.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

int main(int argc, char** argv) {
    rest_api::store store;
    auto command_line = porthole::server_options::from_command_line(
        argc, argv,
        {{"--access-log", "a Common Log Format line per answer on standard error"},
         {"--rate-limit N", "requests a second per client address, 1 or more; beyond: 429"},
         {"--cors-origin ORIGIN", "an origin whose pages may call the API (repeatable; '*': any, without credentials)"},
         {"--basic-auth USER:PASSWORD", "the credentials POST, PUT and DELETE ask for"}});
    if (!command_line.ok()) return command_line.report();  // --help, or a malformed value
    auto& opts = command_line.options;
    opts.limits.max_body = rest_api::max_body;  // 413 before a larger body arrives
    bool log = porthole::command_line_flag(argc, argv, "--access-log");

    double rate = 1e9;
    auto limit = porthole::command_line_value(argc, argv, "--rate-limit");
    if (limit) {
        rate = std::atof(std::string(*limit).c_str());
        if (!(rate >= 1)) {
            std::fprintf(stderr, "%s: --rate-limit needs requests per second, 1 or more\n", argv[0]);
            return 2;
        }
    }

    porthole::cors_options cors;
    for (auto origin : porthole::command_line_values(argc, argv, "--cors-origin")) cors.origins.emplace_back(origin);
    cors.allow_headers = {"Content-Type", "Authorization", "X-Request-Id"};
    cors.expose_headers = {"X-Request-Id", "Retry-After", "Location"};
    // A listed page may send the Basic credentials along; "*" lets any page read, never with them.
    cors.credentials = std::find(cors.origins.begin(), cors.origins.end(), "*") == cors.origins.end();

    std::string user, password;
    auto auth = porthole::command_line_value(argc, argv, "--basic-auth");
    if (auth) {
        auto colon = auth->find(':');
        if (colon == std::string_view::npos || colon == 0) {
            std::fprintf(stderr, "%s: --basic-auth needs USER:PASSWORD\n", argv[0]);
            return 2;
        }
        user = std::string(auth->substr(0, colon));
        password = std::string(auth->substr(colon + 1));
    }

    // Each layer is in the list whether its flag is given or not; when() turns it on.
    auto on = [](bool flag) { return [flag](porthole::request const&) { return flag; }; };
    bool with_cors = !cors.origins.empty(), with_auth = auth.has_value();
    auto writes = [with_auth](porthole::request const& r) {
        auto m = r.method();
        return with_auth &&
               (m == porthole::method::post || m == porthole::method::put || m == porthole::method::delete_);
    };
    try {
        auto app = porthole::layers{
            porthole::when(on(log), porthole::access_log(porthole::common_log(stderr))),
            porthole::request_id{},
            porthole::when(on(with_cors), porthole::cors(std::move(cors))),
            porthole::when(on(limit.has_value()), porthole::rate_limit({.rate = rate, .burst = rate})),
            porthole::when(writes, porthole::basic_auth("rest_api", user, password)),
        }(rest_api::make_app(store));
        return porthole::serve(app, std::move(opts));
    } catch (std::invalid_argument const& e) {  // a layer refused its value: an origin, a user-id
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 2;
    }
}
