#include "routes.hpp"

namespace separate {

std::string greet(std::string_view name) { return "hello, " + std::string(name) + "\n"; }

}  // namespace separate
