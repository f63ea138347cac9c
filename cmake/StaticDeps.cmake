# RUSTNET_STATIC_DEPS: link gRPC and what it stands on (Abseil, protobuf,
# upb, re2, c-ares, OpenSSL) from Debian's static archives instead of
# their shared libraries. Not zlib: Debian's lintian refuses a package with
# an embedded zlib (embedded-library, an error), and libz is one small
# library of the essential set.
#
# Why: a run of rustnetd on a 10-packet file spent half of its CPU in the
# dynamic loader, resolving symbols across 84 shared libraries (~60 of them
# Abseil's), before main() (issue 20, target 2; bench/fixed_cost.py). Linked
# statically, those symbols are bound at link time: 33 libraries are left
# (libc, libstdc++, and the C libraries with no .a in Debian: libsystemd,
# gnutls under libmicrohttpd, ...), the loader's relocations drop from
# ~24,000 to ~9,400 and a whole run's CPU from ~26 ms to ~14 ms.
#
# All or nothing: Abseil linked twice (a static copy in the program, a
# shared one under a shared libgrpc) would mean two Mutex implementations
# and two sets of globals. So every shared library of the set below that a
# target found by find_package points at must have its .a next to it, or
# nothing changes (with a STATUS message saying which is missing).
#
# Not in sanitizer builds (the TSan build interposes Abseil's Mutex from an
# object of its own, tests/tsan/absl_sync_annotations.cc, which a static
# Abseil would define twice) nor in fuzzer builds (clang).

# Library names (lib<NAME>.so...) that go static together.
set(_rn_static_names_regex
    "^lib(absl_[a-z0-9_]+|grpc\\+\\+(_reflection|_alts|_error_details|_unsecure)?|grpc(_unsecure|_plugin_support)?|grpcpp_channelz|gpr|upb|address_sorting|protobuf|protobuf-lite|protoc|re2|cares|ssl|crypto)$")

# Returns in OUT the static archive standing in for the shared library
# PATH ("" when PATH is not one of the set); sets MISSING when it is one but
# has no .a.
function(_rn_static_for path out missing)
  set(${out} "" PARENT_SCOPE)
  if(NOT path MATCHES "^(.*)/([^/]+)\\.so(\\.[0-9.]+)?$")
    return()
  endif()
  set(dir "${CMAKE_MATCH_1}")
  set(name "${CMAKE_MATCH_2}")
  if(NOT name MATCHES "${_rn_static_names_regex}")
    return()
  endif()
  if(EXISTS "${dir}/${name}.a")
    set(${out} "${dir}/${name}.a" PARENT_SCOPE)
  else()
    set(${missing} "${dir}/${name}.a" PARENT_SCOPE)
  endif()
endfunction()

# Points the imported targets of this directory (the top level's
# find_package results) at the static archives. Call after find_package.
function(rn_link_dependencies_statically)
  get_directory_property(targets IMPORTED_TARGETS)
  set(configs "" _NONE _NOCONFIG _RELEASE _DEBUG _RELWITHDEBINFO _MINSIZEREL)
  # "target|property|n" triples (the value in value_<n>), applied only if
  # every library of the set has its .a.
  set(changes "")
  set(n 0)
  set(missing "")
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "INTERFACE_LIBRARY")
      # re2::re2 (gRPC's Findre2: pkg-config's "-L<dir> -lre2").
      get_target_property(libs ${target} INTERFACE_LINK_LIBRARIES)
      if(NOT libs)
        continue()
      endif()
      set(new_libs "")
      set(changed FALSE)
      set(libdir "")
      foreach(item IN LISTS libs)
        if(item MATCHES "^-L(.+)$")
          set(libdir "${CMAKE_MATCH_1}")
          list(APPEND new_libs "${item}")
        elseif(item MATCHES "^-l(.+)$" AND libdir)
          set(static "")
          set(miss "")
          _rn_static_for("${libdir}/lib${CMAKE_MATCH_1}.so" static miss)
          if(miss)
            list(APPEND missing "${miss}")
          endif()
          if(static)
            list(APPEND new_libs "${static}")
            set(changed TRUE)
          else()
            list(APPEND new_libs "${item}")
          endif()
        else()
          list(APPEND new_libs "${item}")
        endif()
      endforeach()
      if(changed)
        math(EXPR n "${n} + 1")
        set(value_${n} "${new_libs}")
        list(APPEND changes "${target}|INTERFACE_LINK_LIBRARIES|${n}")
      endif()
      continue()
    endif()
    foreach(config IN LISTS configs)
      get_target_property(location ${target} IMPORTED_LOCATION${config})
      if(NOT location)
        continue()
      endif()
      set(static "")
      set(miss "")
      _rn_static_for("${location}" static miss)
      if(miss)
        list(APPEND missing "${miss}")
      endif()
      if(static)
        math(EXPR n "${n} + 1")
        set(value_${n} "${static}")
        list(APPEND changes "${target}|IMPORTED_LOCATION${config}|${n}")
      endif()
    endforeach()
  endforeach()
  if(missing)
    list(REMOVE_DUPLICATES missing)
    message(STATUS "RUSTNET_STATIC_DEPS: linking gRPC and Abseil shared; no static archive "
                   "${missing}")
    return()
  endif()
  foreach(change IN LISTS changes)
    string(REPLACE "|" ";" parts "${change}")
    list(GET parts 0 target)
    list(GET parts 1 property)
    list(GET parts 2 index)
    set_property(TARGET ${target} PROPERTY ${property} "${value_${index}}")
  endforeach()
  # The archives' order on the link line follows the targets' declared
  # dependencies, which Debian's gRPC targets leave incomplete (a shared
  # libgrpc finds the rest through its own DT_NEEDED): let the linker
  # rescan them all.
  set(CMAKE_CXX_LINK_EXECUTABLE
      "<CMAKE_CXX_COMPILER> <FLAGS> <CMAKE_CXX_LINK_FLAGS> <LINK_FLAGS> <OBJECTS> -o <TARGET> -Wl,--start-group <LINK_LIBRARIES> -Wl,--end-group"
      PARENT_SCOPE)
  list(LENGTH changes count)
  message(STATUS "RUSTNET_STATIC_DEPS: gRPC, protobuf, Abseil, re2, c-ares and OpenSSL "
                 "linked statically (${count} imported libraries)")
  set(RUSTNET_STATIC_DEPS_APPLIED TRUE PARENT_SCOPE)
endfunction()
