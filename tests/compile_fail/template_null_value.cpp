// expect: nullptr cannot be a template value
// nullptr converts to std::string_view and was read as a C string at run time (a crash).
#include <porthole/template.hpp>

int main() {
    using namespace porthole::literals;
    constexpr auto page = porthole::make_template<"<p>@@who@@</p>">();
    (void)page.render("who"_v = nullptr);
}
