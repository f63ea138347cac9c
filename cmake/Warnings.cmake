# Warnings for our own code. Generated protobuf code is compiled without
# them (it is not ours to fix) through rustnet_generated_options().
#
# RUSTNET_WERROR turns them into errors: ON in the project's own builds
# (scripts/test.sh, CI, developers), OFF by default so a packager's or a
# user's plain build never fails on a new compiler's new warning.
option(RUSTNET_WERROR "Treat compiler warnings as errors" OFF)

add_library(rn_warnings INTERFACE)
target_compile_options(rn_warnings INTERFACE
  -Wall -Wextra -Wpedantic
  -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Wnull-dereference -Wdouble-promotion
  -Wformat=2 -Wimplicit-fallthrough)
if(RUSTNET_WERROR)
  target_compile_options(rn_warnings INTERFACE -Werror)
endif()
