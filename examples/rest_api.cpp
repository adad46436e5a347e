// rest_api: a JSON CRUD API over an in-memory map (see rest_api_app.hpp for the routes).
//   build/examples/rest_api --port 8080 --threads 2
//   curl -i -d '{"name": "chair"}' http://127.0.0.1:8080/items
//   curl -i http://127.0.0.1:8080/items/1
#include "rest_api_app.hpp"

#include <porthole/server.hpp>

int main(int argc, char** argv) {
    rest_api::store store;
    auto app = rest_api::make_app(store);
    return porthole::serve(app, porthole::options::from_command_line(argc, argv));
}
