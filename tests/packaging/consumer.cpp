// A consumer of porthole, built by tools/packaging_check.sh in each way a user can take it.
#include <porthole/porthole.hpp>

#include <cstdio>

int main() {
    auto app = [](porthole::request const& req) { return "hello " + std::string(req.path()); };
    auto res = porthole::testing::get(app, "/consumer");
    std::printf("%u %s\n", res.status, res.body.c_str());
    return res.status == 200 && res.body == "hello /consumer" ? 0 : 1;
}
