// expect here: undeclared_greeting
// g++ only: clang++ drops a generic call operator whose body failed, and app.hpp's call reports that
// A generic application (auto parameter) with an error in its body: that error alone, not a
// second one saying the application has the wrong shape.
#include <porthole/serve.hpp>

int main(int argc, char** argv) {
    auto app = [](auto const& req) { return porthole::response::text(undeclared_greeting + req.path()); };
    return porthole::serve(app, porthole::server_options::from_command_line(argc, argv));
}
