// 02_routes: a route list maps URL paths to functions. Here the list is a compile-time value:
// the compiler checks the patterns, and anything not listed is 404.
//   build/examples/02_routes --port 8080, then open /index/ and /home/
#include <porthole/porthole.hpp>

int main(int argc, char** argv) {
    auto app = porthole::router{
        porthole::get<"/index/">([] { return "This is the index page."; }),
        porthole::get<"/home/">([] { return "Welcome home."; }),
    };
    return porthole::serve(app, porthole::server_options::from_command_line(argc, argv));
}
