// expect: this type cannot be a template value
// A type that is neither text, a number, a bool nor html (nor formattable by fmt) is refused.
#include <porthole/template.hpp>

struct point {
    int x, y;
};

int main() {
    constexpr auto page = porthole::make_template<"<p>@@where@@</p>">();
    (void)page.render(porthole::arg<"where">(point{1, 2}));
}
