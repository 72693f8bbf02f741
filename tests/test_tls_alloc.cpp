#include <doctest/doctest.h>
#include "netco/tls/engine.hpp"
