// expect here: returning porthole::response, a string, a status
// Overloaded call operators, the one that takes a request returning nothing: not excused as
// a call operator that cannot be named, but one error at the call of serve().
#include <porthole/serve.hpp>

struct application {
    void operator()(porthole::request const&) {}
    void operator()(int) {}
};

int main() {
    application app;
    return porthole::serve(app);
}
