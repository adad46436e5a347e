#include <porthole/porthole.hpp>
#include <doctest/doctest.h>
