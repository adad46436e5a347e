// expect here: returning porthole::response, a string, a status
// An application that returns nothing (and takes no responder): one error, at the call of serve().
#include <porthole/serve.hpp>

int main(int argc, char** argv) {
    auto app = [](porthole::request const&) {};
    return porthole::serve(app, porthole::server_options::from_command_line(argc, argv));
}
