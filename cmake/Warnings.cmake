# Warnings are errors for our own code. Generated protobuf code is compiled
# without them (it is not ours to fix) through rustnet_generated_options().
add_library(rn_warnings INTERFACE)
target_compile_options(rn_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror
  -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Wnull-dereference -Wdouble-promotion
  -Wformat=2 -Wimplicit-fallthrough)
