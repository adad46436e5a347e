// examples/hello's program, built twice: with every header porthole.hpp gathers
// (PORTHOLE_ALL_HEADERS) and with the server's alone. test_pay_for_use.py checks that the two
// define the same functions: a feature the program does not use adds nothing to it.
#ifdef PORTHOLE_ALL_HEADERS
#include <porthole/porthole.hpp>
#else
#include <porthole/server.hpp>
#endif

int main(int argc, char** argv) {
    auto app = [](porthole::request const& req) -> porthole::response {
        if (req.path() == "/") return porthole::response::static_text("Hello, World!", "text/plain");
        return porthole::status::not_found;
    };
    return porthole::serve(app, porthole::server_options::from_command_line(argc, argv));
}
