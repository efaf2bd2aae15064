// One doctest main shared by every test executable. A failing check makes the executable exit non-zero.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
