// expect here: the handler's parameters must be the pattern's
// An int for an {id:int} would truncate: the type must be std::int64_t.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::get<"/users/{id:int}">([](int id) { return id ? "a" : "b"; })};
