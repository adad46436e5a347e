// expect here: undeclared_greeting
// An error in the body of an application whose return type is deduced from it: that error
// alone, not a second one saying the application has the wrong shape.
#include <porthole/serve.hpp>

int main(int argc, char** argv) {
    auto app = [](porthole::request const& req) { return porthole::response::text(undeclared_greeting + req.path()); };
    return porthole::serve(app, porthole::server_options::from_command_line(argc, argv));
}
