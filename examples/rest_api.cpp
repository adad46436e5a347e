// rest_api: a JSON CRUD API over an in-memory map (see rest_api_app.hpp for the routes).
//   build/examples/rest_api --port 8080 --threads 2 [--access-log]
//   curl -i -d '{"name": "chair"}' http://127.0.0.1:8080/items
//   curl -i http://127.0.0.1:8080/items/1
// --access-log writes one Common Log Format line per request to stderr.
#include "rest_api_app.hpp"

#include <porthole/server.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    rest_api::store store;
    auto app = rest_api::make_app(store);
    auto command_line = porthole::options::from_command_line(argc, argv);
    if (porthole::command_line_flag(argc, argv, "--access-log"))
        command_line.options.access_log = porthole::common_log(stderr);
    return porthole::serve(app, command_line);
}
