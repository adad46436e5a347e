// expect here: std::string_view
// The same through porthole::testing, with the error a wrong operand in the body: that error alone.
#include <porthole/testing.hpp>

int main() {
    auto app = [](porthole::request const& req) { return porthole::response::text(req.path() + 1); };
    return porthole::testing::get(app, "/").status == 200 ? 0 : 1;
}
