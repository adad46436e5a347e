// expect here: an application must be callable
// A server of an application type named explicitly, which does not fit: one error where it is
// made, none more from the members that run it.
#include <porthole/server.hpp>

struct takes_an_int {
    int operator()(int n) const { return n; }
};

int main() {
    porthole::server<takes_an_int> s{takes_an_int{}};
    s.start();
    s.poll();
    s.wait();
    s.stop();
    return s.port() == 0 ? 0 : 1;
}
