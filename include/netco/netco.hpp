// netco/netco.hpp: everything netco offers, in one include
#pragma once

#include "netco/cancel.hpp"
#include "netco/error.hpp"
#include "netco/local.hpp"
#include "netco/loop.hpp"
#include "netco/resolve.hpp"
#include "netco/signal.hpp"
#include "netco/spawn.hpp"
#include "netco/task.hpp"
#include "netco/tcp.hpp"
#include "netco/timer.hpp"
#include "netco/when_all.hpp"
