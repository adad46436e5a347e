// expect: nlohmann cannot convert JSON to T
// A json_body<T> whose T has no from_json: the first error says what to write.
#include <porthole/json.hpp>
#include <porthole/router.hpp>
#include <porthole/testing.hpp>

#include <string>

struct thing {
    std::string name;
};

int main() {
    auto app = porthole::router{porthole::post<"/x">([](porthole::json_body<thing> t) { return t->name; })};
    return porthole::testing::get(app, "/x").status == 200 ? 0 : 1;
}
