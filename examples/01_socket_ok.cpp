// 01_socket_ok: the lesson's first step. A web application is a socket server and the browser is
// a socket client; the first server answered "OK" to whatever it was asked. So does this one.
//   build/examples/01_socket_ok --port 8080
#include <porthole/porthole.hpp>

int main(int argc, char** argv) {
    auto app = [](porthole::request const&) { return "OK"; };
    return porthole::serve(app, porthole::server_options::from_command_line(argc, argv));
}
