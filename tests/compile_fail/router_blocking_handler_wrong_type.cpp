// expect here: the handler's parameters must be the pattern's
// porthole::blocking takes the parameters its handler declares: an int for an {id:int} is
// refused where the route is written, as without the wrapper, even once the router is served.
#include <porthole/blocking.hpp>
#include <porthole/router.hpp>
#include <porthole/testing.hpp>

auto app =
    porthole::router{porthole::get<"/users/{id:int}">(porthole::blocking([](int id) { return id ? "a" : "b"; }))};
auto r = porthole::testing::get(app, "/users/1");
