// echo: sends back what it received (see echo_app.hpp); tests use it as a probe.
//   build/examples/echo --port 8080
#include "echo_app.hpp"

#include <porthole/porthole.hpp>

int main(int argc, char** argv) {
    std::atomic<unsigned long> received{0};
    return porthole::serve(echo_app{&received}, porthole::options::from_command_line(argc, argv));
}
