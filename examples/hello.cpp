// hello: GET / answers "Hello, World!"; any other path is 404.
//   build/examples/hello --port 8080 --threads 2
#include <porthole/serve.hpp>

int main(int argc, char** argv) {
    auto app = [](porthole::request const& req) -> porthole::response {
        if (req.path() == "/") return porthole::response::static_text("Hello, World!", "text/plain");
        return porthole::status::not_found;
    };
    return porthole::serve(app, porthole::server_options::from_command_line(argc, argv));
}
