// expect: porthole needs C++20: compile with -std=c++20
// std: c++17
// A C++17 program that includes porthole is told what to change before anything else.
#include <porthole/porthole.hpp>

int main() {}
