#pragma once
// porthole/porthole.hpp: everything porthole offers, in one include.
#include <porthole/http.hpp>
#include <porthole/parser.hpp>
