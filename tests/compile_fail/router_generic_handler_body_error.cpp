// expect here: undeclared_greeting
// then: fix the error reported in its body
// A generic route handler with an error in its body that does not depend on its parameter: that
// error, then the one assertion that says to fix it; not "no matching function for call to get".
#include <porthole/router.hpp>
#include <porthole/testing.hpp>

int main() {
    auto app = porthole::router{porthole::get<"/{n:int}">([](auto n) { return undeclared_greeting + n; })};
    return porthole::testing::get(app, "/1").status == 200 ? 0 : 1;
}
