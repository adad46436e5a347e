// expect here: an application must be callable as f(porthole::request const&)
// An application that takes something else: one error, at the call of serve(), quoting why.
#include <porthole/serve.hpp>

int main(int argc, char** argv) {
    auto app = [](int) { return porthole::response(porthole::status::not_found); };
    return porthole::serve(app, porthole::server_options::from_command_line(argc, argv));
}
