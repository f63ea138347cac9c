# RUSTNET_SANITIZE=ON builds everything with ASan + UBSan; any report aborts
# the process so a test that triggers one fails. RUSTNET_SANITIZE=thread
# builds with ThreadSanitizer instead (scripts/test.sh runs the threaded
# tests with it; tests/tsan.supp names the uninstrumented system libraries'
# reports it ignores).
if(RUSTNET_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(RUSTNET_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# RUSTNET_FUZZ=ON (clang): coverage for libFuzzer everywhere, ASan + UBSan.
if(RUSTNET_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
