// expect here: PORTHOLE_WITH_JSON
// nlohmann::json is not an answer until porthole/json.hpp is in (PORTHOLE_WITH_JSON).
#include <nlohmann/json.hpp>
#include <porthole/porthole.hpp>

auto app = porthole::router{porthole::get<"/x">([] { return nlohmann::json{{"a", 1}}; })};
